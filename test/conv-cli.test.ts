// `nabla train --model cnn` / `cnn-bn`: the models' own defaults and their PyTorch-shaped state dicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTrainConfig } from '../src/cli/config.js';
import { buildModel, MODELS } from '../src/cli/models.js';
import { noGrad, randn } from '../src/index.js';

test('--model cnn trains with cross-entropy, Adam lr 0.001, batch 64 and normalised pixels unless flags say otherwise', () => {
  const c = resolveTrainConfig({ model: 'cnn' });
  assert.deepEqual([c.loss, c.optimizer, c.lr, c.batchSize, c.normalize], ['ce', 'adam', 0.001, 64, true]);
  const o = resolveTrainConfig({ model: 'cnn', loss: 'bce', optimizer: 'sgd', lr: '0.05' });
  assert.deepEqual([o.loss, o.optimizer, o.lr], ['bce', 'sgd', 0.05]);
  const m = resolveTrainConfig({});
  assert.deepEqual([m.model, m.loss, m.optimizer, m.normalize], ['mlp', 'bce', 'sgd', false]);
  assert.ok(MODELS['cnn-bn']);
});

test('the reference CNN has the layers and state-dict keys of the same torch.nn.Sequential', () => {
  const cnn = buildModel(resolveTrainConfig({ model: 'cnn' }));
  const shapes = Object.fromEntries(Object.entries(cnn.stateDict()).map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes, {
    '0.weight': [32, 1, 3, 3], '0.bias': [32], '3.weight': [64, 32, 3, 3], '3.bias': [64],
    '7.weight': [128, 1600], '7.bias': [128], '9.weight': [10, 128], '9.bias': [10],
  });
  const bn = buildModel(resolveTrainConfig({ model: 'cnn-bn' }));
  assert.deepEqual(Object.keys(bn.stateDict()), [
    '0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked',
    '4.weight', '5.weight', '5.bias', '5.running_mean', '5.running_var', '5.num_batches_tracked',
    '10.weight', '10.bias', '13.weight', '13.bias',
  ]);
  for (const model of [cnn, bn]) {
    model.eval();
    const y = noGrad(() => model.forward(randn([2, 1, 28, 28])));
    assert.deepEqual(y.shape, [2, 10]);
  }
});
