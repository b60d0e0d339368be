import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';

test('README example: gradient of a small expression', () => {
  const x = nb.tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const loss = x.mul(x).sum();
  loss.backward();
  assert.deepEqual(x.grad!.toArray(), [[2, 4], [6, 8]]);
  assert.equal(loss.item(), 30);
});

test('deep graphs do not overflow the stack (iterative engine)', () => {
  const x = nb.tensor([1], { requiresGrad: true, dtype: 'float64' });
  let y = x;
  for (let i = 0; i < 20000; i++) y = y.add(1e-4);
  y.sum().backward();
  assert.equal(x.grad!.item(), 1);
});
