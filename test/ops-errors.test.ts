/**
 * Every documented error case throws its documented message: the op, the argument and the shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';

const x = nb.randn([2, 3]);
const throwsExactly = (fn: () => unknown, message: string): void => assert.throws(fn, (e: Error) => {
  assert.equal(e.message, message);
  return true;
});

test('matmul names both shapes and the mismatched sizes', () => {
  throwsExactly(() => nb.matmul(nb.zeros([64, 784]), nb.zeros([100, 10])), 'matmul: shapes [64, 784] and [100, 10] cannot be multiplied (784 ≠ 100)');
  throwsExactly(() => nb.zeros([3]).matmul(nb.zeros([4])), 'matmul: shapes [3] and [4] cannot be multiplied (3 ≠ 4)');
  throwsExactly(() => nb.matmul(nb.zeros([2, 3, 4]), nb.zeros([3, 4, 5])),
    'matmul: batch dimensions of shapes [2, 3, 4] and [3, 4, 5] cannot be broadcast together ([2] and [3])');
  throwsExactly(() => nb.matmul(nb.tensor(1), nb.zeros([3])), 'matmul: both arguments need at least 1 dimension, got shapes [] and [3]');
});

test('broadcasting errors name the op and both shapes', () => {
  throwsExactly(() => nb.add(nb.zeros([2, 3]), nb.zeros([4])), 'add: shapes [2, 3] and [4] cannot be broadcast together');
  throwsExactly(() => nb.zeros([2, 3]).mul(nb.zeros([3, 2])), 'mul: shapes [2, 3] and [3, 2] cannot be broadcast together');
  throwsExactly(() => nb.lt(nb.zeros([5]), nb.zeros([4])), 'lt: shapes [5] and [4] cannot be broadcast together');
  throwsExactly(() => nb.where(nb.zeros([2]).gt(0), nb.zeros([3]), 0), 'where: shapes [2] and [3] cannot be broadcast together');
  throwsExactly(() => nb.zeros([2]).copy_(nb.zeros([3])), 'copy_: shapes [2] and [3] cannot be broadcast together');
  throwsExactly(() => nb.zeros([2]).copy_(nb.zeros([2, 2])), 'copy_: source [2, 2] cannot be broadcast to destination [2]');
  throwsExactly(() => x.expand(4, 3), 'expand: input [2, 3] cannot be expanded to [4, 3]');
  throwsExactly(() => nb.zeros([3]).expand(-1, 3), 'expand: invalid size -1 at dim 0 of [-1, 3] (-1 keeps an existing dim, new leading dims need a size)');
});

test('bad dims name the op, the dim and the valid range', () => {
  throwsExactly(() => x.sum(2), 'sum: dim 2 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.mean(-3), 'mean: dim -3 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.max(2), 'max: dim 2 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.argmin(5), 'argmin: dim 5 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.softmax(5), 'softmax: dim 5 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.logSoftmax(2), 'logSoftmax: dim 2 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.transpose(0, 2), 'transpose: dim 2 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.squeeze(3), 'squeeze: dim 3 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.unsqueeze(4), 'unsqueeze: dim 4 is out of range for inserting a dimension into a tensor of 2 dimensions (expected -3..2)');
  throwsExactly(() => nb.stack([x, x], -4), 'stack: dim -4 is out of range for inserting a dimension into a tensor of 2 dimensions (expected -3..2)');
  throwsExactly(() => nb.cat([x, x], 2), 'cat: dim 2 is out of range for a tensor of 2 dimensions (expected -2..1)');
  throwsExactly(() => x.sum([1, -1]), 'sum: dims [1, -1] name a dimension more than once');
  throwsExactly(() => x.permute(0, 0), 'permute: dims [0, 0] repeat a dimension');
  throwsExactly(() => x.permute(0), 'permute: dims [0] do not match a tensor of 2 dimensions');
  throwsExactly(() => x.flatten(1, 0), 'flatten: startDim 1 comes after endDim 0');
  throwsExactly(() => nb.tensor(1).sum(1), 'sum: dim 1 is out of range for a tensor of 0 dimensions (expected -1..0)');
});

test('reshape and view sizes', () => {
  throwsExactly(() => x.reshape(5, 5), 'reshape: shape [5, 5] is invalid for input of size 6 (shape [2, 3])');
  throwsExactly(() => x.reshape(-1, 4), 'reshape: shape [-1, 4] is invalid for input of size 6 (shape [2, 3])');
  throwsExactly(() => x.view(-1, -1), 'reshape: only one dimension can be inferred (-1) in [-1, -1]');
  throwsExactly(() => x.reshape(2, -2), 'reshape: invalid shape [2, -2]');
  throwsExactly(() => x.T.view(6), 'view: input of shape [3, 2] is not contiguous; use reshape() or contiguous() first');
  throwsExactly(() => x.expand(3), 'expand: the target shape [3] has fewer dimensions than the input [2, 3]');
});

test('joining, indexing and slicing errors', () => {
  throwsExactly(() => nb.cat([x, nb.zeros([2, 4])]), 'cat: tensor 1 has shape [2, 4], which does not match [2, 3] outside dim 0');
  throwsExactly(() => nb.cat([]), 'cat: expected a non-empty list of tensors');
  throwsExactly(() => nb.cat([nb.tensor(1), nb.tensor(2)]), 'cat: tensor 0 is zero-dimensional and cannot be concatenated; use stack or unsqueeze it');
  throwsExactly(() => nb.stack([x, nb.zeros([3, 2])]), 'stack: tensor 1 has shape [3, 2], expected [2, 3] like tensor 0');
  throwsExactly(() => x.gather(1, nb.tensor([[5]], { dtype: 'int32' })), 'gather: index 5 is out of range for dim 1 of size 3 (input shape [2, 3])');
  throwsExactly(() => x.gather(1, nb.tensor([[1]])), 'gather: index must be an int32 tensor, got float32');
  throwsExactly(() => x.gather(0, nb.zeros([2, 4], { dtype: 'int32' })), 'gather: index [2, 4] does not fit input [2, 3] along dims other than 0');
  throwsExactly(() => x.indexSelect(0, nb.tensor([2], { dtype: 'int32' })), 'indexSelect: index 2 is out of range for dim 0 of size 2 (input shape [2, 3])');
  throwsExactly(() => x.indexSelect(0, nb.zeros([1, 1], { dtype: 'int32' })), 'indexSelect: index must be 1-D, got shape [1, 1]');
  throwsExactly(() => x.narrow(1, 2, 3), 'narrow: start 2 and length 3 exceed dim 1 of size 3 (shape [2, 3])');
  throwsExactly(() => x.select(0, 2), 'select: index 2 is out of range for dim 0 of size 2');
  throwsExactly(() => x.slice(0, 0, 2, 0), 'slice: step must be a positive integer, got 0');
  throwsExactly(() => x.scatterAdd(0, nb.tensor([[0]], { dtype: 'int32' }), nb.zeros([2])), 'scatterAdd: index [1, 1] and src [2] must have the same shape');
  throwsExactly(() => x.scatterAdd(0, nb.tensor([[0, 2]], { dtype: 'int32' }), nb.zeros([1, 2])), 'scatterAdd: index 2 is out of range for dim 0 of size 2 (input shape [2, 3])');
  throwsExactly(() => x.scatterAdd(1, nb.zeros([3, 1], { dtype: 'int32' }), nb.zeros([3, 1])), 'scatterAdd: index [3, 1] does not fit input [2, 3] along dims other than 1');
});

test('tensor(): ragged nested arrays, bad elements and shapes', () => {
  throwsExactly(() => nb.tensor([[1, 2], [3]]), 'tensor: ragged nested array at [1]: expected length 2, got 1');
  throwsExactly(() => nb.tensor([[[1], [2]], [[3], [4, 5]]]), 'tensor: ragged nested array at [1, 1]: expected length 1, got 2');
  throwsExactly(() => nb.tensor([[1, 2], 3] as never), 'tensor: ragged nested array at [1]: expected length 2, got a scalar');
  throwsExactly(() => nb.tensor([1, [2]] as never), 'tensor: element at [1] is an array, expected a number');
  throwsExactly(() => nb.tensor(['a'] as never), 'tensor: element at [0] is string, expected a number');
  throwsExactly(() => nb.tensor(new Float32Array(3), { shape: [2, 2] }), 'tensor: shape [2, 2] needs 4 elements, but the array has 3');
  throwsExactly(() => nb.tensor([1, 2, 3], { shape: [2, 2] }), 'tensor: shape [2, 2] does not match 3 elements');
  throwsExactly(() => nb.zeros([2], { dtype: 'int64' as never }), "zeros: unknown dtype 'int64' (expected float32, float64, int32 or bool)");
  throwsExactly(() => nb.ones([2, -1]), 'ones: invalid shape [2, -1]');
  throwsExactly(() => nb.randn([2], { dtype: 'int32' }), 'randn: dtype must be floating point, got int32');
  throwsExactly(() => nb.randint(3, 3, [2]), 'randint: high (3) must be greater than low (3)');
  throwsExactly(() => nb.arange(0, 1, 0), 'arange: step must be non-zero');
  throwsExactly(() => nb.linspace(0, 1, -1), 'linspace: steps must be a non-negative integer, got -1');
});

test('autograd errors: freed graph, non-scalar backward, in-place on a leaf, no grad', () => {
  const a = nb.randn([2], { requiresGrad: true });
  const y = a.exp().sum();
  y.backward();
  throwsExactly(() => y.backward(), 'backward: trying to backward through the graph a second time (its saved tensors were freed); ' +
    'pass { retainGraph: true } to the first backward() if you need to backward twice');
  throwsExactly(() => nb.randn([2, 3], { requiresGrad: true }).mul(2).backward(),
    'backward: grad can be implicitly created only for scalar outputs, got shape [2, 3]');
  throwsExactly(() => nb.randn([2, 3], { requiresGrad: true }).mul(2).backward(nb.zeros([3])),
    'backward: gradient shape [3] does not match tensor shape [2, 3]');
  throwsExactly(() => x.sum().backward(),
    'backward: tensor does not require grad and has no grad_fn (did you forget requiresGrad, or run under noGrad?)');
  throwsExactly(() => nb.noGrad(() => a.mul(2)).sum().backward(),
    'backward: tensor does not require grad and has no grad_fn (did you forget requiresGrad, or run under noGrad?)');
  throwsExactly(() => a.fill_(1), 'fill_: a leaf tensor that requires grad is used in an in-place operation; wrap it in noGrad()');
  throwsExactly(() => a.copy_(nb.zeros([2])), 'copy_: a leaf tensor that requires grad is used in an in-place operation; wrap it in noGrad()');
  throwsExactly(() => a.zero_(), 'fill_: a leaf tensor that requires grad is used in an in-place operation; wrap it in noGrad()');
  throwsExactly(() => nb.zeros([2], { dtype: 'int32' }).requiresGrad_(), 'requiresGrad_: only floating-point tensors can require gradients, got int32');
  throwsExactly(() => a.mul(2).requiresGrad_(false), 'requiresGrad_: cannot turn off gradients of a non-leaf tensor; use detach()');
  const b = nb.randn([2], { requiresGrad: true });
  throwsExactly(() => nb.autograd.grad(a.sum(), [b]), 'grad: input 0 (shape [2]) was not used to compute the outputs; pass { allowUnused: true }');
  throwsExactly(() => nb.autograd.grad(a.mul(2), [a]), 'grad: grad can be implicitly created only for scalar outputs, got shape [2]');
  // in place under noGrad is allowed
  nb.noGrad(() => a.fill_(3));
  assert.deepEqual(a.toArray(), [3, 3]);
});

test('type and value errors of single ops', () => {
  throwsExactly(() => x.item(), 'item: only one-element tensors can be converted to a number, got shape [2, 3]');
  throwsExactly(() => nb.zeros([2], { dtype: 'int32' }).mean(), 'mean: input dtype should be floating point, got int32');
  throwsExactly(() => nb.zeros([0]).max(), 'max: expected a non-empty tensor, got shape [0]');
  throwsExactly(() => nb.zeros([0]).argmax(), 'argmax: expected a non-empty tensor, got shape [0]');
  throwsExactly(() => nb.add(x, 'a' as never), "add: argument 'other' must be a Tensor or a number, got string");
  throwsExactly(() => nb.mul(null as never, x), "mul: argument 'input' must be a Tensor or a number, got null");
  throwsExactly(() => nb.zeros([2, 2, 2]).T, 'T: expected a tensor of at most 2 dimensions, got 3; use mT or permute');
  throwsExactly(() => x.clamp(), 'clamp: at least one of min or max must be given');
  throwsExactly(() => nb.setBackend('gpu'), `setBackend: unknown backend 'gpu' (available: ${nb.listBackends().join(', ')})`);
});
