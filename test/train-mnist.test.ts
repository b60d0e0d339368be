// Full-epoch MNIST runs on the real files (tens of seconds each on the reference backend): keep them few.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../src/cli/run.js';
import { data, datasets, nn, optim, train, Generator, manualSeed } from '../src/index.js';

test('the classic recipe (`nabla train` defaults), 1 epoch: the classic log and ≥ 50 % test accuracy', async () => {
  const out: string[] = [], err: string[] = [];
  const code = await main(['train', '--no-progress'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  assert.deepEqual(err, []);
  assert.equal(code, 0);
  assert.match(out[0]!, /^nabla train: MLP 784-100-10, sigmoid hidden, sigmoid outputs; loss bce; SGD lr 0\.1; batch 64; 1 epoch; seed 0/);
  const logLines = out.filter((l) => l.startsWith('[1,'));
  assert.deepEqual(logLines.map((l) => l.slice(0, 17)), [100, 200, 300, 400, 500, 600, 700, 800, 900].map((b) => `[1,   ${b}] loss: `));
  for (const l of logLines) assert.match(l, /^\[1, {3}\d00\] loss: 0\.\d{3}$/);
  const last = out.at(-1)!;
  const m = /^Accuracy of the network on the 10000 test images: ([\d.]+) %$/.exec(last);
  assert.ok(m, last);
  const acc = Number(m[1]);
  // PyTorch: 56-64 % after one epoch of this recipe
  assert.ok(acc >= 50, `classic recipe reached ${acc} %`);
});

test('ReLU + CrossEntropy + SGD(lr 0.05, momentum 0.9), 1 epoch through the library API: ≥ 95 %', async () => {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 100), new nn.ReLU(), new nn.Linear(100, 10));
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const trainLoader = new data.DataLoader(new datasets.MNIST({ train: true }), { batchSize: 64, shuffle: true, generator: new Generator(0) });
  const testLoader = new data.DataLoader(new datasets.MNIST({ train: false }), { batchSize: 1000 });
  const lines: string[] = [];
  const history = await train.fit(model, trainLoader, { optimizer, lossFn: (o, y) => nn.F.crossEntropy(o, y), epochs: 1, testLoader, log: (l) => lines.push(l) });
  const acc = history.epochs[0]!.testAccuracy!;
  // PyTorch: 95.5 % after one epoch
  assert.ok(acc >= 0.95, `reached ${(100 * acc).toFixed(2)} %`);
  assert.equal(lines.filter((l) => /^\[1, {3}\d00\] loss: \d\.\d{3}$/.test(l)).length, 9);
});
