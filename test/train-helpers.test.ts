import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, io, nn, optim, train, tensor, randn, Generator, manualSeed, defaultGenerator, Tensor } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nabla-train-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

test('accuracy and confusion matrix (rows true, columns predicted)', () => {
  const scores = tensor([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.8, 0.1, 0.1]]);
  const target = tensor(Int32Array.from([0, 1, 1, 2]));
  assert.equal(train.accuracy(scores, target), 0.5);
  assert.equal(train.correctCount(scores, target), 2);
  const m = train.confusionMatrix(scores, target);
  assert.equal(m.dtype, 'int32');
  assert.deepEqual(m.toArray(), [[1, 0, 0], [0, 1, 1], [1, 0, 0]]);
  assert.deepEqual(train.confusionMatrix(tensor(Int32Array.from([0, 2])), tensor(Int32Array.from([0, 1])), 4).shape, [4, 4]);
  assert.throws(() => train.accuracy(scores, tensor(Int32Array.from([0, 1]))), /accuracy: target must be class indices \[4\], got \[2\]/);
  assert.throws(() => train.confusionMatrix(scores, tensor(Int32Array.from([0, 1, 5, 0]))), /target 5 at index 2 is not a class in 0\.\.2/);
  const text = train.formatConfusionMatrix(m);
  assert.match(text, /^true\\pred\s+0\s+1\s+2\n0\s+1\s+0\s+0\n/);
});

test('the classic log line format and durations', () => {
  assert.equal(train.formatRunningLoss(1, 100, 0.4449), '[1,   100] loss: 0.445');
  assert.equal(train.formatRunningLoss(12, 12345, 1), '[12, 12345] loss: 1.000');
  assert.equal(train.formatDuration(5.4), '5s');
  assert.equal(train.formatDuration(125), '2m05s');
  assert.equal(train.formatDuration(3725), '1h02m');
});

test('EarlyStopping: patience and minDelta, min and max modes', () => {
  const es = new train.EarlyStopping({ monitor: 'testLoss', patience: 2, minDelta: 0.01 });
  assert.equal(es.mode, 'min');
  const stops = [1.0, 0.9, 0.895, 0.892].map((v, i) => es.step(v, i + 1));
  assert.deepEqual(stops, [false, false, false, true]);
  assert.equal(es.best, 0.9);
  assert.equal(es.bestEpoch, 2);
  const acc = new train.EarlyStopping({ monitor: 'testAccuracy', patience: 0 });
  assert.equal(acc.mode, 'max');
  assert.deepEqual([0.5, 0.6, 0.6].map((v, i) => acc.step(v, i + 1)), [false, false, true]);
  assert.throws(() => new train.EarlyStopping({ patience: -1 }), /patience must be a non-negative integer/);
});

/** Two Gaussian blobs per class, 3 classes, 2-D: learnable in a few epochs. */
function blobs(n: number, seed: number): data.TensorDataset {
  const g = new Generator(seed);
  const x = randn([n, 2], { generator: g });
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    x.data[2 * i]! += 3 * Math.cos((2 * Math.PI * y[i]!) / 3);
    x.data[2 * i + 1]! += 3 * Math.sin((2 * Math.PI * y[i]!) / 3);
  }
  return new data.TensorDataset(x, new Tensor(y, [n]));
}

function smallModel(seed: number): nn.Module {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 3));
}

test('fit: classic log, summaries, evaluation, callbacks, early stopping', async () => {
  const ds = blobs(300, 1);
  const model = smallModel(0);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(ds, { batchSize: 10, shuffle: true, generator: new Generator(2) });
  const lines: string[] = [];
  const batchEnds: number[] = [];
  let epochEnds = 0;
  const history = await train.fit(model, loader, {
    optimizer, lossFn: (o, y) => nn.F.crossEntropy(o, y), epochs: 50, testLoader: new data.DataLoader(blobs(90, 3), { batchSize: 30 }),
    logInterval: 10, log: (l) => lines.push(l),
    earlyStopping: new train.EarlyStopping({ monitor: 'testLoss', patience: 1, minDelta: 0.05 }),
    callbacks: [{ onBatchEnd: (b) => { batchEnds.push(b.batch); }, onEpochEnd: () => { epochEnds++; } }],
  });
  assert.equal(lines.filter((l) => /^\[1, {4}10\] loss: \d\.\d{3}$/.test(l)).length, 1);
  assert.equal(lines.filter((l) => /^\[1, +\d+\] loss:/.test(l)).length, 3, 'every 10 of 30 batches');
  assert.match(lines.find((l) => l.startsWith('epoch 1:'))!, /^epoch 1: train loss \d\.\d{4}, train accuracy [\d.]+ %, test loss \d\.\d{4}, test accuracy [\d.]+ %, \d+s \(\d+ samples\/s\)$/);
  assert.ok(history.stoppedEarly, 'the loss stops improving by 0.05 well before 50 epochs');
  assert.ok(history.epochs.length < 50);
  assert.equal(epochEnds, history.epochs.length);
  assert.equal(batchEnds.length, 30 * history.epochs.length);
  assert.ok(lines.some((l) => l.startsWith('early stopping: testLoss has not improved')));
  const last = history.epochs.at(-1)!;
  assert.ok(last.testAccuracy! > 0.95, `blobs are separable, got ${last.testAccuracy}`);
  assert.ok(model.training, 'back in training mode after evaluation');
  const ev = await train.evaluate(model, new data.DataLoader(blobs(90, 3), { batchSize: 7 }), { lossFn: (o, y) => nn.F.crossEntropy(o, y), numClasses: 3 });
  assert.equal(ev.total, 90);
  assert.equal(ev.accuracy, last.testAccuracy);
  assert.ok(Math.abs(ev.loss! - last.testLoss!) < 1e-6);
  assert.equal((ev.confusionMatrix!.data as Int32Array).reduce((a, b) => a + b, 0), 90);
  // a callback can stop training
  const h2 = await train.fit(model, loader, { optimizer, lossFn: (o, y) => nn.F.crossEntropy(o, y), epochs: 5, log: () => {}, callbacks: [{ onEpochEnd: (_s, c) => c.stop() }] });
  assert.equal(h2.epochs.length, 1);
});

test('fit reports a NaN loss clearly, and a bad batch shape', async () => {
  const model = smallModel(0);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const ds = blobs(30, 1);
  ds.tensors[0]!.data[25] = NaN; // a corrupt input in the second batch
  const loader = new data.DataLoader(ds, { batchSize: 10 });
  await assert.rejects(train.fit(model, loader, { optimizer, lossFn: (o, y) => nn.F.crossEntropy(o, y), epochs: 3, log: () => {} }), /the loss became NaN at epoch 1, batch 2; lower the learning rate/);
  await assert.rejects(train.evaluate(model, [[tensor([1])]]), /each batch must be \[input, target\] tensors/);
});

test('checkpoint: 2 epochs straight equal 1 epoch + save + resume + 1 epoch, bit for bit (Adam, shuffled)', async () => {
  const ds = blobs(200, 5);
  const lossFn = (o: Tensor, y: Tensor) => nn.F.crossEntropy(o, y);
  const setup = () => {
    const model = smallModel(7);
    const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
    const generator = new Generator(11);
    const loader = new data.DataLoader(ds, { batchSize: 16, shuffle: true, generator });
    return { model, optimizer, generator, loader };
  };
  const a = setup();
  const traceA: number[] = [];
  await train.fit(a.model, a.loader, { optimizer: a.optimizer, lossFn, epochs: 2, log: () => {}, callbacks: [{ onBatchEnd: (b) => { traceA.push(b.loss); } }] });

  const b = setup();
  const traceB: number[] = [];
  const cb = { onBatchEnd: (x: train.BatchInfo) => { traceB.push(x.loss); } };
  await train.fit(b.model, b.loader, { optimizer: b.optimizer, lossFn, epochs: 1, log: () => {}, callbacks: [cb] });
  const file = join(tmp, 'ck.safetensors');
  train.saveCheckpoint(file, { model: b.model, optimizer: b.optimizer, epoch: 1, generators: { loader: b.generator, global: defaultGenerator }, extra: { note: 'x', nan: NaN } });

  const c = setup(); // fresh objects, different state until restored
  manualSeed(999);
  const loaded = train.loadCheckpoint(file, { model: c.model, optimizer: c.optimizer, generators: { loader: c.generator, global: defaultGenerator } });
  assert.equal(loaded.epoch, 1);
  assert.deepEqual(loaded.extra, { note: 'x', nan: NaN });
  assert.deepEqual(Object.keys(loaded.modelState).sort(), ['0.bias', '0.weight', '2.bias', '2.weight']);
  await train.fit(c.model, c.loader, { optimizer: c.optimizer, lossFn, epochs: 2, startEpoch: loaded.epoch, log: () => {}, callbacks: [cb] });

  assert.deepEqual(traceB, traceA, 'the same loss trace');
  const sa = a.model.stateDict(), sc = c.model.stateDict();
  for (const k of Object.keys(sa)) assert.deepEqual(Array.from(sc[k]!.data), Array.from(sa[k]!.data), k);
  const oa = a.optimizer.stateDict(), oc = c.optimizer.stateDict();
  assert.equal(oc.state[0]!.step, oa.state[0]!.step);
  assert.deepEqual(Array.from((oc.state[0]!.exp_avg_sq as Tensor).data), Array.from((oa.state[0]!.exp_avg_sq as Tensor).data));

  // the file is plain safetensors: the weights load anywhere under model.<key>
  assert.deepEqual(Object.keys(io.loadFile(file)).filter((k) => k.startsWith('model.')).sort(), ['model.0.bias', 'model.0.weight', 'model.2.bias', 'model.2.weight']);
});

test('checkpoint errors: plain weights file, missing generator, missing optimizer state', () => {
  const plain = join(tmp, 'plain.safetensors');
  io.saveFile({ w: tensor([1]) }, plain);
  assert.throws(() => train.loadCheckpoint(plain), /checkpoint .*plain\.safetensors: not a nabla checkpoint/);
  const file = join(tmp, 'ck2.safetensors');
  const model = smallModel(1);
  train.saveCheckpoint(file, { model, epoch: 3 });
  assert.throws(() => train.loadCheckpoint(file, { generators: { loader: new Generator() } }), /has no state for generator 'loader'/);
  assert.throws(() => train.loadCheckpoint(file, { optimizer: new optim.SGD(model.parameters(), { lr: 1 }) }), /has no optimizer state to restore/);
  assert.throws(() => train.saveCheckpoint(file, { model, epoch: -1 }), /epoch must be a non-negative integer/);
  const bad = join(tmp, 'bad.safetensors');
  writeFileSync(bad, io.serialize({ a: tensor([1]) }, { 'nabla.checkpoint': '{oops' }));
  assert.throws(() => train.loadCheckpoint(bad), /metadata is not valid JSON/);
});
