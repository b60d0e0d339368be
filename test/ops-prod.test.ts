// prod's gradient at zeros: the product of the other elements, as PyTorch (values from torch 1.13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';

const cases: [string, unknown, number | undefined, unknown][] = [
  ['one zero, all elements', [2, 0, 3], undefined, [0, 6, 0]],
  ['two zeros', [0, 0, 3], undefined, [0, 0, 0]],
  ['a zero in one row, dim 1', [[1, 2], [0, 4]], 1, [[2, 1], [4, 0]]],
  ['no zeros, dim 0', [[1, 2], [3, 4]], 0, [[3, 4], [1, 2]]],
];

for (const [name, values, dim, expected] of cases) {
  test(`prod backward: ${name}`, () => {
    const x = nb.tensor(values as never, { dtype: 'float64', requiresGrad: true });
    (dim === undefined ? x.prod() : x.prod(dim)).sum().backward();
    assert.deepEqual(x.grad!.toArray(), expected);
  });
}

test('prod passes gradcheck with and without zeros, first and second order', () => {
  const x = nb.tensor([[1.5, -2, 0.5], [3, 0.7, -1.2]], { dtype: 'float64', requiresGrad: true });
  assert.equal(nb.autograd.gradcheck((t) => t.prod(1), [x]), true);
  assert.equal(nb.autograd.gradcheck((t) => t.prod(), [x]), true);
  const z = nb.tensor([[1.5, 0, 0.5], [3, 0.7, -1.2]], { dtype: 'float64', requiresGrad: true });
  assert.equal(nb.autograd.gradcheck((t) => t.prod(1), [z]), true);
  // second order: the gradient function itself (recorded with createGraph) passes gradcheck
  const gradOfProd = (t: nb.Tensor) => nb.enableGrad(() => nb.autograd.grad(t.prod(), [t], { createGraph: true })[0]!);
  assert.equal(nb.autograd.gradcheck(gradOfProd, [x]), true);
  assert.equal(nb.autograd.gradcheck(gradOfProd, [z]), true);
});
