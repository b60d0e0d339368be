// `nabla train --engine classic`: the same flags and log as the default engine, on MNIST subsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/run.js';
import { io } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nabla-classic-cli-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** The log without what legitimately differs: the engine name in the header and the timing. */
const comparable = (lines: string[]): string[] => lines.map((l) => l.replace(/engine \w+/, 'engine ?').replace(/, [\dhms]+ \(\d+ samples\/s\)$/, ''));

test('--engine classic prints the same log as the default engine (losses, accuracies), for every loss and activation', async () => {
  const cases = [
    ['--loss', 'bce', '--activation', 'sigmoid'],
    ['--loss', 'ce', '--activation', 'relu', '--hidden', '32,16'],
    ['--loss', 'mse', '--activation', 'tanh'],
  ];
  for (const extra of cases) {
    const common = ['train', '--limit', '640', '--hidden', '32', '--lr', '0.5', '--log-interval', '2', '--no-progress', '--seed', '3', ...extra];
    const a = await run(...common), b = await run(...common, '--engine', 'classic');
    assert.equal(a.code, 0, a.err.join('\n'));
    assert.equal(b.code, 0, b.err.join('\n'));
    assert.ok(b.out[0]!.includes('engine classic'));
    assert.ok(b.out.some((l) => l.startsWith('[1,    10] loss: ')));
    assert.deepEqual(comparable(b.out), comparable(a.out), extra.join(' '));
  }
});

test('--engine classic checkpoints: nabla evaluate reads them, and 2 epochs straight equal 1 + resume + 1', async () => {
  const common = ['--engine', 'classic', '--limit', '640', '--hidden', '32', '--seed', '5', '--log-interval', '5', '--no-progress'];
  const straight = join(tmp, 'straight.safetensors'), resumed = join(tmp, 'resumed.safetensors');
  const a = await run('train', ...common, '--epochs', '2', '--save', straight);
  assert.equal(a.code, 0, a.err.join('\n'));
  assert.equal((await run('train', ...common, '--epochs', '1', '--save', resumed)).code, 0);
  const b = await run('train', '--resume', resumed, '--epochs', '2', '--save', resumed, '--no-progress', '--log-interval', '5');
  assert.equal(b.code, 0, b.err.join('\n'));
  assert.ok(b.out.includes(`resumed from ${resumed} after epoch 1`));
  assert.deepEqual(b.out.filter((l) => l.startsWith('[2,')), a.out.filter((l) => l.startsWith('[2,')));
  assert.equal(b.out.at(-1), a.out.at(-1));
  const ta = io.loadFileWithMetadata(straight).tensors, tb = io.loadFileWithMetadata(resumed).tensors;
  assert.deepEqual(Object.keys(ta).sort(), ['model.1.bias', 'model.1.weight', 'model.3.bias', 'model.3.weight']);
  for (const k of Object.keys(ta)) assert.deepEqual(Array.from(tb[k]!.data), Array.from(ta[k]!.data), k);

  const e = await run('evaluate', '--checkpoint', straight);
  assert.equal(e.code, 0, e.err.join('\n'));
  const acc = (lines: string[]) => lines.find((l) => l.startsWith('Accuracy of the network'))!.match(/([\d.]+) %/)![1];
  assert.equal(acc(e.out), acc(a.out));
});

test('--engine classic refuses what plain SGD on an MLP cannot do', async () => {
  for (const [flags, msg] of [
    [['--optimizer', 'adam'], /--engine classic: updates the weights by plain SGD .*--optimizer adam needs the default engine/],
    [['--momentum', '0.9'], /--momentum needs the default engine/],
  ] as const) {
    const r = await run('train', '--engine', 'classic', '--limit', '64', '--no-progress', ...flags);
    assert.equal(r.code, 2);
    assert.match(r.err.join('\n'), msg);
  }
});
