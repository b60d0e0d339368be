/**
 * One epoch of the classic MNIST network (784-100-10, sigmoid, BCE on one-hot targets, SGD lr 0.1,
 * batch 64), trained twice from the same initial weights and batch order: with the explicit engine
 * and with nn + autograd + optim.SGD. Both must end with the same weights (float32 tolerance).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, classic, data, datasets, manualSeed, nn, optim } from '../src/index.js';

const SEED = 0, LR = 0.1, BATCH = 64;
/** Batches per run: the full epoch (938); NABLA_CLASSIC_MNIST_BATCHES lowers it for quick local runs. */
const BATCHES = Number(process.env.NABLA_CLASSIC_MNIST_BATCHES ?? Infinity);

function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = a.contiguous().dataSync(), y = b.contiguous().dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

test('one MNIST epoch: classic engine and nn + optim.SGD end with the same weights', () => {
  const train = new datasets.MNIST({ train: true });
  manualSeed(SEED);
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 100), new nn.Sigmoid(), new nn.Linear(100, 10), new nn.Sigmoid());
  const net = classic.fromModule(model, { loss: 'bce' });
  assert.deepEqual(net.sizes, [784, 100, 10]);
  const initial = net.clone();

  // nn + autograd + optim
  const optimizer = new optim.SGD(model.parameters(), { lr: LR });
  let steps = 0, lastTorchLoss = NaN;
  for (const [x, labels] of new data.DataLoader(train, { batchSize: BATCH, shuffle: true, generator: new Generator(SEED) })) {
    if (steps++ >= BATCHES) break;
    const loss = nn.F.binaryCrossEntropy(model.call(x!), nn.F.oneHot(labels!, 10).float());
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    lastTorchLoss = loss.item();
  }

  // the explicit engine, same batches in the same order
  steps = 0;
  let lastClassicLoss = NaN;
  for (const [x, labels] of new data.DataLoader(train, { batchSize: BATCH, shuffle: true, generator: new Generator(SEED) })) {
    if (steps++ >= BATCHES) break;
    lastClassicLoss = classic.trainStep(net, x!.reshape(-1, 784), labels!, { lr: LR }).loss;
  }

  assert.ok(Math.abs(lastClassicLoss - lastTorchLoss) < 1e-5, `last batch loss: classic ${lastClassicLoss}, nn ${lastTorchLoss}`);
  const trained = classic.fromModule(model, { loss: 'bce' });
  net.layers.forEach((layer, l) => {
    const moved = maxAbsDiff(layer.weight, initial.layers[l]!.weight);
    const dw = maxAbsDiff(layer.weight, trained.layers[l]!.weight), db = maxAbsDiff(layer.bias, trained.layers[l]!.bias);
    if (process.env.CLASSIC_VERBOSE) console.log(`layer ${l}: weights moved up to ${moved.toExponential(2)}, engines differ by ≤ ${dw.toExponential(2)} (W), ${db.toExponential(2)} (b)`);
    assert.ok(moved > 1e-3, `layer ${l} barely trained (${moved})`);
    assert.ok(dw <= 1e-6 && db <= 1e-6, `layer ${l}: classic and nn weights differ by ${dw} (W), ${db} (b)`);
  });
});
