/**
 * Autograd semantics: grad modes, requiresGrad_, detach, retainGraph, accumulation, the central broadcast
 * reduction, gradients of gradients, and ownership of .grad storage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { assertClose } from './helpers/assert.js';

const f64 = (data: nb.NestedArray, requiresGrad = true): nb.Tensor => nb.tensor(data, { dtype: 'float64', requiresGrad });

test('noGrad records nothing; enableGrad inside it records again; modes are restored after a throw', () => {
  const x = f64([1, 2]);
  const y = nb.noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  const z = nb.noGrad(() => nb.enableGrad(() => x.mul(2)));
  assert.equal(z.requiresGrad, true);
  assert.equal(z.gradFn?.name, 'MulBackward');
  assert.throws(() => nb.noGrad(() => { throw new Error('inside'); }), /inside/);
  assert.equal(nb.isGradEnabled(), true);
  assert.throws(() => nb.noGrad((async () => 1) as never), /must be synchronous/);
  assert.equal(nb.isGradEnabled(), true);
  nb.setGradEnabled(false);
  try {
    assert.equal(x.exp().requiresGrad, false);
  } finally {
    nb.setGradEnabled(true);
  }
});

test('requiresGrad_ marks leaves; ops on int or untracked tensors record nothing', () => {
  const x = nb.tensor([1, 2, 3]);
  assert.equal(x.mul(2).requiresGrad, false);
  assert.equal(x.requiresGrad_(), x);
  assert.equal(x.isLeaf, true);
  const y = x.mul(2);
  assert.equal(y.requiresGrad, true);
  assert.equal(y.isLeaf, false);
  assert.equal(x.argmax().requiresGrad, false);
  assert.equal(x.gt(1).requiresGrad, false);
  x.requiresGrad_(false);
  assert.equal(x.mul(2).requiresGrad, false);
  assert.equal(nb.randn([2], { requiresGrad: true }).requiresGrad, true);
});

test('detach shares storage, is cut from the graph, and blocks gradient flow', () => {
  const x = f64([1, 2, 3]);
  const d = x.detach();
  assert.equal(d.data, x.data);
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
  x.mul(d).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [1, 2, 3]); // d(x·c)/dx = c, not 2x
});

test('gradients accumulate across backward calls; retainGraph allows a second pass', () => {
  const x = f64([1, 2]);
  x.mul(x).sum().backward();
  x.mul(3).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [2 + 3, 4 + 3]);
  x.grad = null;
  const y = x.pow(3).sum();
  y.backward(undefined, { retainGraph: true });
  y.backward();
  assert.deepEqual(x.grad!.toArray(), [6, 24]); // 2 · 3x²
  assert.throws(() => y.backward(), /backward through the graph a second time/);
});

test('the engine sums gradients over broadcast dims once, into the input shape and dtype', () => {
  const a = nb.zeros([3, 1], { requiresGrad: true }), b = nb.zeros([4], { requiresGrad: true, dtype: 'float64' });
  const s = nb.tensor(2, { requiresGrad: true });
  a.add(b).mul(s).sum().backward();
  assert.deepEqual(a.grad!.shape, [3, 1]);
  assert.equal(a.grad!.dtype, 'float32');
  assert.deepEqual(a.grad!.toArray(), [[8], [8], [8]]);
  assert.deepEqual(b.grad!.shape, [4]);
  assert.equal(b.grad!.dtype, 'float64');
  assert.deepEqual(b.grad!.toArray(), [6, 6, 6, 6]);
  assert.deepEqual(s.grad!.shape, []);
});

test('non-scalar backward with an explicit gradient; shared subexpressions (diamonds) add up', () => {
  const x = f64([1, 2, 3]);
  x.mul(x).backward(f64([1, 0, 2], false));
  assert.deepEqual(x.grad!.toArray(), [2, 0, 12]);
  const t = f64([0.5, -1]);
  const y = t.mul(2);
  y.mul(y).add(y).sum().backward(); // z = 4t² + 2t → 8t + 2
  assert.deepEqual(t.grad!.toArray(), [6, -6]);
});

test('each leaf .grad owns its storage: not shared with another .grad or with the seed', () => {
  const a = nb.randn([3], { requiresGrad: true }), b = nb.randn([3], { requiresGrad: true }), c = nb.randn([3]);
  a.add(b).mul(c).sum().backward(); // AddBackward hands the same gradient to both
  assert.notEqual(a.grad!.data, b.grad!.data);
  assertClose(a.grad!, c);
  nb.noGrad(() => a.grad!.zero_());
  assertClose(b.grad!, c);
  const p = nb.randn([2, 3], { requiresGrad: true }), q = nb.randn([6], { requiresGrad: true });
  p.reshape(6).add(q).sum().backward();
  assert.notEqual(p.grad!.data, q.grad!.data);
  const x = nb.randn([2], { requiresGrad: true });
  const seed = nb.ones([2]);
  x.add(1).backward(seed);
  seed.fill_(5);
  assert.deepEqual(x.grad!.toArray(), [1, 1]);
});

test('retainGrad keeps the gradient of an intermediate tensor', () => {
  const x = f64([1, 2]);
  const y = x.mul(3).retainGrad();
  y.pow(2).sum().backward();
  assert.deepEqual(y.grad!.toArray(), [6, 12]);
  assert.deepEqual(x.grad!.toArray(), [18, 36]);
});

test('autograd.grad returns gradients without touching .grad, also for non-leaf inputs', () => {
  const x = f64([1, 2]);
  const h = x.exp();
  const y = h.sum().mul(2);
  const [gx, gh] = nb.autograd.grad(y, [x, h], { retainGraph: true });
  assert.equal(x.grad, null);
  assertClose(gx!, x.exp().mul(2));
  assert.deepEqual(gh!.toArray(), [2, 2]);
  const [none] = nb.autograd.grad(y, [f64([0])], { allowUnused: true });
  assert.equal(none, null);
});

test('gradients of gradients with createGraph', () => {
  const x = f64([1, 2, -1]);
  const [g] = nb.autograd.grad(x.pow(3).sum(), [x], { createGraph: true });
  assert.deepEqual(g!.toArray(), [3, 12, 3]); // 3x²
  assert.equal(g!.requiresGrad, true);
  const [gg] = nb.autograd.grad(g!.sum(), [x], { createGraph: true });
  assert.deepEqual(gg!.toArray(), [6, 12, -6]); // 6x
  const [ggg] = nb.autograd.grad(gg!.sum(), [x]);
  assert.deepEqual(ggg!.toArray(), [6, 6, 6]);
  // backward(createGraph) leaves a differentiable .grad
  const w = f64([0.5, 1.5]);
  w.sigmoid().sum().backward(undefined, { createGraph: true });
  assert.equal(w.grad!.requiresGrad, true);
  const [h] = nb.autograd.grad(w.grad!.sum(), [w]);
  const s = w.detach().sigmoid();
  assertClose(h!, s.mul(nb.sub(1, s)).mul(nb.sub(1, s.mul(2)))); // σ'' = σ(1−σ)(1−2σ)
});

test('a deep chain and a wide fan-in run without recursion', () => {
  const x = f64([1]);
  let y = x;
  for (let i = 0; i < 5000; i++) y = y.mul(1.0001);
  y.sum().backward();
  assertClose(x.grad!, [Math.pow(1.0001, 5000)], { rtol: 1e-12 });
  const w = f64([2]);
  const terms = Array.from({ length: 2000 }, (_, i) => w.mul(i));
  nb.stack(terms).sum().backward();
  assert.equal(w.grad!.item(), (1999 * 2000) / 2);
});

test('values overwritten in place after an op used them make backward throw instead of a wrong gradient', () => {
  const x = f64([1, 2]);
  const y = x.exp();
  y.fill_(0); // y is not a leaf, so the write is allowed; its ExpBackward would now compute 0
  assert.throws(() => y.sum().backward(), /^Error: backward: the output of ExpBackward \(shape \[2\]\) was modified in place \(copy_, fill_ or zero_\) after the op used it/);
  const c = f64([3, 4], false);
  const h = x.mul(c);
  c.copy_(f64([0, 0], false));
  assert.throws(() => h.sum().backward(), /backward: input 1 of MulBackward \(shape \[2\]\) was modified in place/);
  // writes through a view count, and writes after backward are fine
  const d = f64([3, 4], false);
  const k = x.mul(d);
  d.T.select(0, 1).fill_(9);
  assert.throws(() => k.sum().backward(), /input 1 of MulBackward/);
  x.grad = null;
  const ok = x.mul(d);
  ok.sum().backward();
  d.zero_();
  assert.deepEqual(x.grad!.toArray(), [3, 9]);
});
