// `nabla train` on MNIST subsets: reproducibility, checkpoints and resuming, `nabla evaluate`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/run.js';
import { data, datasets, io, nn, optim, train, Generator, manualSeed } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nabla-cli-train-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<string[]> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  assert.deepEqual(err, [], argv.join(' '));
  assert.equal(code, 0, argv.join(' '));
  return out;
}

test('the same seed gives the same loss trace twice (MNIST subset)', async () => {
  const mnist = new datasets.MNIST({ train: true });
  const subset = new data.Subset(mnist, Array.from({ length: 1280 }, (_, i) => i));
  const trace = async (seed: number): Promise<number[]> => {
    manualSeed(seed);
    const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 32), new nn.Sigmoid(), new nn.Linear(32, 10), new nn.Sigmoid());
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
    const loader = new data.DataLoader(subset, { batchSize: 64, shuffle: true, generator: new Generator(seed) });
    const losses: number[] = [];
    await train.fit(model, loader, {
      optimizer, epochs: 2, log: () => {}, lossFn: (o, y) => nn.F.binaryCrossEntropy(o, nn.F.oneHot(y, 10).float()),
      callbacks: [{ onBatchEnd: (b) => { losses.push(b.loss); } }],
    });
    return losses;
  };
  const a = await trace(3), b = await trace(3), c = await trace(4);
  assert.equal(a.length, 40);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('nabla train --save / --resume: 2 epochs straight equal 1 + resume + 1, bit for bit; nabla evaluate reads the checkpoint', async () => {
  const common = ['--limit', '640', '--hidden', '32', '--momentum', '0.9', '--seed', '5', '--log-interval', '5', '--no-progress'];
  const straight = join(tmp, 'straight.safetensors'), resumed = join(tmp, 'resumed.safetensors');
  const outA = await run('train', ...common, '--epochs', '2', '--save', straight);
  await run('train', ...common, '--epochs', '1', '--save', resumed);
  // a resumed run keeps its configuration: only --epochs is given
  const outB = await run('train', '--resume', resumed, '--epochs', '2', '--save', resumed, '--no-progress', '--log-interval', '5');
  assert.ok(outB.includes(`resumed from ${resumed} after epoch 1`));
  assert.deepEqual(outB.filter((l) => l.startsWith('[2,')), outA.filter((l) => l.startsWith('[2,')), 'the same second-epoch log');
  assert.equal(outB.at(-1), outA.at(-1));
  const a = io.loadFileWithMetadata(straight), b = io.loadFileWithMetadata(resumed);
  assert.deepEqual(Object.keys(a.tensors).sort(), Object.keys(b.tensors).sort());
  assert.ok(Object.keys(a.tensors).includes('model.1.weight') && Object.keys(a.tensors).includes('optimizer.state.0.momentum_buffer'));
  for (const k of Object.keys(a.tensors)) assert.deepEqual(Array.from(b.tensors[k]!.data), Array.from(a.tensors[k]!.data), k);
  const meta = (x: typeof a) => JSON.parse(x.metadata['nabla.checkpoint']!);
  assert.equal(meta(b).epoch, 2);
  assert.deepEqual(meta(b).generators, meta(a).generators);
  // the weights have PyTorch's layout: Linear(784, 32).weight is [32, 784]
  assert.deepEqual(a.tensors['model.1.weight']!.shape, [32, 784]);

  const ev = await run('evaluate', '--checkpoint', resumed);
  assert.match(ev[0]!, /^checkpoint .*resumed\.safetensors: MLP 784-32-10, sigmoid hidden, sigmoid outputs; loss bce; 2 epochs trained$/);
  const accLine = ev.find((l) => l.startsWith('Accuracy of the network'))!;
  assert.equal(accLine.replace(/ \(\d+\/10000\)$/, ''), outA.at(-1));
  assert.ok(ev.includes('confusion matrix (rows: true digit, columns: predicted digit):'));

  // with a cosine schedule (its state is in the checkpoint): resume from the epoch-1 file of a 2-epoch run
  const cos = ['--limit', '640', '--hidden', '32', '--momentum', '0.9', '--scheduler', 'cosine', '--no-progress', '--log-interval', '0'];
  const perEpoch = join(tmp, 'cos-{epoch}.safetensors'), cosResumed = join(tmp, 'cos-resumed.safetensors');
  await run('train', ...cos, '--epochs', '2', '--save', perEpoch);
  await run('train', '--resume', join(tmp, 'cos-1.safetensors'), '--save', cosResumed, '--no-progress');
  const c2 = io.loadFileWithMetadata(join(tmp, 'cos-2.safetensors')), cr = io.loadFileWithMetadata(cosResumed);
  for (const k of Object.keys(c2.tensors)) assert.deepEqual(Array.from(cr.tensors[k]!.data), Array.from(c2.tensors[k]!.data), k);
  const sched = (x: typeof a) => JSON.parse(x.metadata['nabla.checkpoint']!).extra.scheduler;
  assert.deepEqual(sched(cr), sched(c2));
  assert.equal(sched(c2).lastEpoch, 2);
  assert.ok(Math.abs(JSON.parse(c2.metadata['nabla.checkpoint']!).optimizer.paramGroups[0].lr) < 1e-12, 'cosine reaches 0 after the last epoch');

  // changing the configuration of a resumed run is refused
  const err: string[] = [];
  const code = await main(['train', '--resume', resumed, '--lr', '0.5'], { out: () => {}, err: (l) => err.push(l) });
  assert.equal(code, 2);
  assert.match(err[0]!, /--lr 0\.5 differs from the resumed checkpoint's 0\.1/);
  const err2: string[] = [];
  assert.equal(await main(['train', '--resume', cosResumed, '--epochs', '3'], { out: () => {}, err: (l) => err2.push(l) }), 2);
  assert.match(err2[0]!, /--epochs cannot change when resuming a run with --scheduler cosine \(its schedule spans 2 epochs\)/);
});

test('nabla train with --hidden lists, relu/tanh, ce/mse and adam/adamw runs', async () => {
  for (const flags of [['--hidden', '16,8', '--activation', 'relu', '--loss', 'ce', '--optimizer', 'adam', '--threads', '4'], ['--hidden', '', '--activation', 'tanh', '--loss', 'mse', '--optimizer', 'adamw']]) {
    const file = join(tmp, 'v.safetensors');
    const out = await run('train', '--limit', '256', '--no-progress', '--save', file, ...flags);
    assert.match(out.at(-1)!, /^Accuracy of the network on the 10000 test images: [\d.]+ %$/);
    if (flags.includes('--threads')) assert.ok(out.some((l) => /--threads 4 is ignored$/.test(l)) || !out.some((l) => l.startsWith('note:')));
    const keys = Object.keys(io.loadFile(file)).filter((k) => k.startsWith('model.')).sort();
    assert.deepEqual(keys, flags[1] === '16,8'
      ? ['model.1.bias', 'model.1.weight', 'model.3.bias', 'model.3.weight', 'model.5.bias', 'model.5.weight']
      : ['model.1.bias', 'model.1.weight']);
  }
});

test('nabla train --eager (op by op) prints the same log as the default compiled step', async () => {
  const args = ['train', '--limit', '640', '--log-interval', '2', '--no-progress', '--model', 'cnn-bn', '--epochs', '1'];
  const strip = (lines: string[]): string[] => lines.map((l) => l.replace(/, \d+(\.\d+)?\s*m?s \(\d+ samples\/s\)/, '').replace(/\d+ samples\/s/, ''));
  const compiled = await run(...args), eager = await run(...args, '--eager');
  assert.ok(compiled.some((l) => /^\[1, +2\] loss: /.test(l)));
  assert.deepEqual(strip(eager), strip(compiled));
});
