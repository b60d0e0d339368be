/**
 * Printing: toString() matches PyTorch's str() on the same tensors (test/fixtures/ops.json, "print"),
 * with nabla's camelCase names (requiresGrad=true, dtype=float64).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import * as nb from '../src/index.js';
import { type StoredTensor, fromStored, loadFixture } from './helpers/fixtures.js';

interface PrintCase { name: string; tensor: StoredTensor; requiresGrad: boolean; expected: string }
const cases = loadFixture<{ print: PrintCase[] }>('ops').print;

/** PyTorch's names to nabla's; suffixes joined onto one line (their lengths differ, so line breaks may too). */
const normalize = (s: string): string => s
  .replace(/requires_grad=True/g, 'requiresGrad=true')
  .replace(/dtype=torch\./g, 'dtype=')
  .replace(/,\n\s+(dtype=|requiresGrad=|gradFn=)/g, ', $1');

for (const c of cases) {
  test(`toString like PyTorch: ${c.name}`, () => {
    const t = fromStored(c.tensor, undefined, c.requiresGrad);
    assert.equal(normalize(t.toString()), normalize(c.expected));
  });
}

test('gradFn is printed for op results, and console.log uses the same text', () => {
  const x = nb.tensor([1, 2], { requiresGrad: true });
  assert.equal(x.mul(2).toString(), 'tensor([2., 4.], gradFn=<MulBackward>)');
  assert.equal(inspect(x), 'tensor([1., 2.], requiresGrad=true)');
  assert.equal(nb.tensor([[1, 2], [3, 4]], { dtype: 'int32' }).T.toString(), 'tensor([[1, 3],\n        [2, 4]])');
});
