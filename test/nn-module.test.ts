import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';

const { nn } = nb;

test('Sequential registers children under PyTorch keys and trains with SGD', () => {
  nb.manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(4, 3), new nn.Sigmoid(), new nn.Linear(3, 2));
  assert.deepEqual(Object.keys(model.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.deepEqual(model.stateDict()['0.weight']!.shape, [3, 4]);
  const x = nb.randn([5, 4]);
  const t = nb.tensor([0, 1, 1, 0, 1], { dtype: 'int32' });
  const opt = new nb.optim.SGD(model.parameters(), { lr: 0.5 });
  const losses: number[] = [];
  for (let i = 0; i < 10; i++) {
    opt.zeroGrad();
    const loss = nn.F.crossEntropy(model.call(x), t);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  assert.ok(losses[9]! < losses[0]!, `loss should fall: ${losses.join(', ')}`);
});
