import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/run.js';
import { trainFlags } from '../src/cli/config.js';
import { io as nio, tensor } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nabla-cli-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

test('--help documents every flag of train and evaluate, and the commands', async () => {
  const top = await run('--help');
  assert.equal(top.code, 0);
  assert.match(top.out.join('\n'), /Commands:\n {2}train .*\n {2}evaluate /);
  const noArgs = await run();
  assert.equal(noArgs.code, 0);
  const h = await run('train', '--help');
  assert.equal(h.code, 0);
  const text = h.out.join('\n');
  for (const flag of ['epochs', 'hidden', 'activation', 'loss', 'optimizer', 'lr', 'momentum', 'batch-size', 'seed', 'save', 'resume', 'threads', 'model', 'engine']) {
    assert.match(text, new RegExp(`--${flag}\\b`), flag);
  }
  for (const name of Object.keys(trainFlags())) assert.ok(text.includes(`--${name}`), name);
  assert.match(text, /--lr NUM +learning rate \(default: 0\.1 for sgd, 0\.001 for adam and adamw\)/);
  assert.match(text, /--hidden LIST .*\(default: 100\)/);
  assert.match(text, /--activation NAME +hidden activation: sigmoid, relu, tanh \(default: sigmoid\)/);
  const e = await run('evaluate', '-h');
  assert.equal(e.code, 0);
  assert.match(e.out.join('\n'), /--checkpoint FILE/);
});

test('bad values: a one-line error and exit code 2', async () => {
  const cases: [string[], RegExp][] = [
    [['train', '--lr', 'abc'], /^nabla train: --lr must be a positive number, got 'abc'$/],
    [['train', '--lr=-1'], /--lr must be a positive number, got '-1'/],
    [['train', '--lr', '-1'], /^nabla train: Option '--lr' argument is ambiguous \(a value starting with a dash is written --lr=-XYZ\)$/],
    [['train', '--epochs', '1.5'], /^nabla train: --epochs must be an integer ≥ 0, got '1\.5'$/],
    [['train', '--batch-size', '0'], /--batch-size must be an integer ≥ 1, got '0'/],
    [['train', '--hidden', '256,x'], /--hidden must be a comma-separated list of positive integers \(e\.g\. 256,128\), got '256,x'/],
    [['train', '--activation', 'gelu'], /--activation must be one of sigmoid, relu, tanh, got 'gelu'/],
    [['train', '--loss', 'nll'], /--loss must be one of bce, ce, mse, got 'nll'/],
    [['train', '--optimizer', 'lbfgs'], /--optimizer must be one of sgd, adam, adamw, got 'lbfgs'/],
    [['train', '--momentum', '2'], /--momentum must be a number from 0 to 1, got '2'/],
    [['train', '--optimizer', 'adam', '--momentum', '0.9'], /--momentum applies to --optimizer sgd only/],
    [['train', '--seed=-3'], /--seed must be an integer from 0 to 4294967295, got '-3'/],
    [['train', '--threads', '0'], /--threads must be an integer from 1 to 1024, got '0'/],
    [['train', '--engine', 'magic'], /--engine must be one of autograd/],
    [['train', '--model', 'resnet'], /--model must be one of mlp/],
    [['train', '--backend', 'tpu'], /--backend must be one of .*cpu.*, got 'tpu'/],
    [['train', '--resume', join(tmp, 'nope.safetensors')], /--resume .*nope\.safetensors: no such file/],
    [['train', '--data', join(tmp, 'nodir')], /--data .*nodir: no such folder/],
    [['train', '--frobnicate'], /^nabla train: Unknown option '--frobnicate'$/],
    [['train', '--lr'], /^nabla train: Option '--lr <value>' argument missing$/],
    [['train', 'extra'], /^nabla train: Unexpected argument 'extra'/],
    [['fly'], /^nabla: unknown command 'fly'/],
    [['evaluate'], /^nabla evaluate: --checkpoint FILE is required$/],
    [['evaluate', '--checkpoint', join(tmp, 'x')], /no such file/],
    [['evaluate', '--checkpoint', 'a', '--batch-size', 'big'], /--batch-size must be an integer ≥ 1, got 'big'/],
  ];
  for (const [argv, re] of cases) {
    const r = await run(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.err.length, 1, argv.join(' '));
    assert.ok(!r.err[0]!.includes('\n'), argv.join(' '));
    assert.match(r.err[0]!, re);
    assert.deepEqual(r.out, [], argv.join(' '));
  }
});

test('a file that is not a checkpoint fails with exit code 1 and names the file', async () => {
  const plain = join(tmp, 'plain.safetensors');
  nio.saveFile({ w: tensor([1]) }, plain);
  const r = await run('evaluate', '--checkpoint', plain);
  assert.equal(r.code, 1);
  assert.match(r.err[0]!, /^nabla: checkpoint .*plain\.safetensors: not a nabla checkpoint/);
});

test('the command runs as a process: exit code 2 on a bad flag, help on stdout', () => {
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', '--epochs', 'ten'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, "nabla train: --epochs must be an integer ≥ 0, got 'ten'\n");
  const help = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: nabla train \[options\]/);
});
