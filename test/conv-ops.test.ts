import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as nb from '../src/index.js';
import type { Tensor } from '../src/index.js';

interface Fx { shape: number[]; data: number[] }
interface Case {
  name: string; op: string; opts: Record<string, unknown>;
  inputs: Record<string, Fx | null>; output: Fx; seed: Fx; grads: Record<string, Fx>;
  runningMeanAfter?: Fx; runningVarAfter?: Fx;
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/conv.json', import.meta.url), 'utf8')) as { cases: Case[] };

const f64 = (f: Fx, requiresGrad = false): Tensor => nb.tensor(f.data, { shape: f.shape, dtype: 'float64', requiresGrad });

/** Elementwise |a − b| ≤ 1e-9 + 1e-6·|b|. */
function close(actual: Tensor, expected: Fx, what: string): void {
  assert.deepEqual([...actual.shape], expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  expected.data.forEach((e, i) => {
    const err = Math.abs(a[i]! - e);
    if (!(err <= 1e-9 + 1e-6 * Math.abs(e))) assert.fail(`${what}: element ${i} is ${a[i]}, PyTorch ${e}`);
  });
}

type PairOpt = number | [number, number];
function apply(c: Case, x: Tensor, w: Tensor | null, b: Tensor | null, rm?: Tensor | null, rv?: Tensor | null): Tensor {
  const o = c.opts;
  switch (c.op) {
    case 'conv2d': return nb.conv2d(x, w!, b, o as nb.Conv2dOptions);
    case 'maxPool2d': return nb.maxPool2d(x, o.kernelSize as PairOpt, o as nb.MaxPool2dOptions);
    case 'avgPool2d': return nb.avgPool2d(x, o.kernelSize as PairOpt, o as nb.AvgPool2dOptions);
    case 'adaptiveAvgPool2d': return nb.adaptiveAvgPool2d(x, o.outputSize as number | [number | null, number | null]);
    case 'batchNorm': return nb.batchNorm(x, rm ?? null, rv ?? null, w, b, o as nb.BatchNormOptions);
    default: throw new Error(`unknown op ${c.op}`);
  }
}

for (const c of fixtures.cases) {
  test(`PyTorch fixture: ${c.op} ${c.name}`, () => {
    const x = f64(c.inputs.x!, true);
    const wf = c.inputs.weight, bf = c.inputs.bias;
    const w = wf ? f64(wf, true) : null, b = bf ? f64(bf, true) : null;
    const rm = c.inputs.runningMean ? f64(c.inputs.runningMean) : null, rv = c.inputs.runningVar ? f64(c.inputs.runningVar) : null;
    const y = apply(c, x, w, b, rm, rv);
    close(y, c.output, 'output');
    y.mul(f64(c.seed)).sum().backward();
    close(x.grad!, c.grads.x!, 'grad x');
    if (w && c.grads.weight) close(w.grad!, c.grads.weight, 'grad weight');
    if (b && c.grads.bias) close(b.grad!, c.grads.bias, 'grad bias');
    if (c.runningMeanAfter) close(rm!, c.runningMeanAfter, 'running mean');
    if (c.runningVarAfter) close(rv!, c.runningVarAfter, 'running var');
  });
}

test('float32 conv2d agrees with float64 and keeps its dtype', () => {
  nb.manualSeed(1);
  const x = nb.randn([2, 3, 8, 8]), w = nb.randn([4, 3, 3, 3]), b = nb.randn([4]);
  const y = nb.conv2d(x, w, b, { padding: 1, stride: 2 });
  assert.equal(y.dtype, 'float32');
  const y64 = nb.conv2d(x.double(), w.double(), b.double(), { padding: 1, stride: 2 });
  const a = y.dataSync(), e = y64.dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - e[i]!) < 1e-4, `element ${i}`);
});

// ---------------------------------------------------------------- gradcheck (float64 finite differences)

const r64 = (shape: number[]): Tensor => nb.randn(shape, { dtype: 'float64', requiresGrad: true });

test('gradcheck conv2d: stride, padding, dilation, groups, same', () => {
  nb.manualSeed(2);
  const settings: [number[], number[], nb.Conv2dOptions][] = [
    [[2, 2, 5, 4], [3, 2, 3, 2], {}],
    [[1, 4, 6, 5], [4, 2, 2, 3], { stride: [2, 1], padding: [1, 2], dilation: [2, 1], groups: 2 }],
    [[2, 3, 4, 4], [3, 1, 3, 3], { padding: 'same', groups: 3 }],
    [[1, 2, 5, 5], [2, 2, 2, 2], { padding: 'same', dilation: 2 }],
  ];
  for (const [xs, ws, o] of settings) {
    const x = r64(xs), w = r64(ws), b = r64([ws[0]!]);
    assert.equal(nb.autograd.gradcheck((x, w, b) => nb.conv2d(x, w, b, o), [x, w, b]), true, JSON.stringify(o));
  }
});

test('gradcheck conv2d second order (gradients of gradients)', () => {
  nb.manualSeed(3);
  const x = r64([1, 2, 4, 4]), w = r64([2, 1, 2, 2]);
  const o: nb.Conv2dOptions = { padding: 1, stride: 2, groups: 2 };
  const gradOf = (wrt: 'x' | 'w') => (x: Tensor, w: Tensor) => nb.enableGrad(() => {
    const y = nb.conv2d(x, w, null, o);
    return nb.autograd.grad(y.mul(y).sum(), [wrt === 'x' ? x : w], { createGraph: true })[0]!;
  });
  assert.equal(nb.autograd.gradcheck(gradOf('x'), [x, w]), true);
  assert.equal(nb.autograd.gradcheck(gradOf('w'), [x, w]), true);
});

test('gradcheck pooling: max (padding, dilation, ceil mode), avg, adaptive', () => {
  nb.manualSeed(4);
  const x = r64([2, 2, 7, 6]);
  const fns: [string, (x: Tensor) => Tensor][] = [
    ['max 2', (x) => nb.maxPool2d(x, 2)],
    ['max ceil pad', (x) => nb.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true })],
    ['max dilation', (x) => nb.maxPool2d(x, [2, 3], { stride: 1, dilation: [2, 1], padding: [1, 1] })],
    ['avg include pad', (x) => nb.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true })],
    ['avg exclude pad', (x) => nb.avgPool2d(x, [2, 3], { stride: [1, 2], padding: [1, 1], countIncludePad: false })],
    ['adaptive', (x) => nb.adaptiveAvgPool2d(x, [3, 4])],
  ];
  for (const [name, f] of fns) assert.equal(nb.autograd.gradcheck(f, [x]), true, name);
  const twice = (x: Tensor) => nb.enableGrad(() => {
    const y = nb.avgPool2d(x, 2, { stride: 1 });
    return nb.autograd.grad(y.mul(y).sum(), [x], { createGraph: true })[0]!;
  });
  assert.equal(nb.autograd.gradcheck(twice, [x]), true, 'avg second order');
});

test('gradcheck batchNorm in training and eval mode', () => {
  nb.manualSeed(5);
  const x = r64([3, 2, 3, 2]), w = r64([2]), b = r64([2]);
  const rm = nb.randn([2], { dtype: 'float64' }), rv = nb.rand([2], { dtype: 'float64' }).add(0.5);
  assert.equal(nb.autograd.gradcheck((x, w, b) => nb.batchNorm(x, null, null, w, b, { training: true }), [x, w, b]), true);
  assert.equal(nb.autograd.gradcheck((x, w, b) => nb.batchNorm(x, rm, rv, w, b, { training: false }), [x, w, b]), true);
  const x2 = r64([5, 3]);
  assert.equal(nb.autograd.gradcheck((x) => nb.batchNorm(x, null, null, null, null, { training: true, eps: 1e-3 }), [x2]), true);
});

test('batchNorm in training: gradients of gradients (the recorded expression path) pass gradcheck and match the fused path', () => {
  nb.manualSeed(6);
  const x = r64([4, 2, 3, 2]), w = r64([2]), b = r64([2]);
  const twice = (x: Tensor, w: Tensor, b: Tensor) => nb.enableGrad(() => {
    const y = nb.batchNorm(x, null, null, w, b, { training: true });
    const [gx, gw] = nb.autograd.grad(y.pow(3).sum(), [x, w], { createGraph: true });
    return [gx!, gw!];
  });
  assert.equal(nb.autograd.gradcheck(twice, [x, w, b]), true);
  // first-order gradients: fused kernels (no graph recorded) and the expressions (createGraph) agree
  const y = nb.batchNorm(x, null, null, w, b, { training: true }), seed = nb.randn(y.shape, { dtype: 'float64' });
  const fused = nb.autograd.grad(y, [x, w, b], { gradOutputs: [seed], retainGraph: true });
  const expr = nb.autograd.grad(y, [x, w, b], { gradOutputs: [seed], createGraph: true });
  fused.forEach((f, i) => {
    const a = f!.dataSync(), e = expr[i]!.dataSync();
    for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k]! - e[k]!) < 1e-12 * (1 + Math.abs(e[k]!)), `input ${i} element ${k}`);
  });
});

test('batchNorm accepts non-contiguous input and gradient views', () => {
  nb.manualSeed(8);
  const base = r64([3, 5, 4, 2]);
  const x = base.permute(0, 1, 3, 2); // [3, 5, 2, 4], trailing dims not flattenable
  const y = nb.batchNorm(x, null, null, null, null, { training: true });
  const ref = nb.batchNorm(x.contiguous().detach(), null, null, null, null, { training: true });
  assert.deepEqual(Array.from(y.dataSync()), Array.from(ref.dataSync()));
  y.sum().backward(); // an expanded (stride 0) gradient; Σ y is constant per channel, so ∂/∂x ≈ 0
  assert.ok(base.grad!.dataSync().every((v) => Math.abs(v) < 1e-12));
});

test('maxPool2d propagates NaN (no silent NaN loss) and sends a tie\'s gradient to the first maximum, as PyTorch', () => {
  const x = nb.tensor([[[[1, NaN, 0, 2], [3, 4, 2, 2]]]], { requiresGrad: true });
  const y = nb.maxPool2d(x, 2);
  const v = y.dataSync();
  assert.ok(Number.isNaN(v[0]!));
  assert.equal(v[1], 2);
  y.sum().backward();
  assert.deepEqual(x.grad!.toArray(), [[[[0, 1, 0, 1], [0, 0, 0, 0]]]]);
});

// ---------------------------------------------------------------- errors name the op and the shapes

test('conv2d errors name the op, the argument and the shapes', () => {
  const w = nb.zeros([32, 1, 3, 3]);
  assert.throws(() => nb.conv2d(nb.zeros([64, 784]), w), /conv2d: expected input \[N, 1, H, W\] .*got \[64, 784\]/);
  assert.throws(() => nb.conv2d(nb.zeros([8, 3, 28, 28]), w), /conv2d: expected input \[N, 1, H, W\] with 1 channels .*got \[8, 3, 28, 28\] with 3 channels/);
  assert.throws(() => nb.conv2d(nb.zeros([1, 1, 2, 2]), w), /conv2d: kernel 3×3 is larger than the padded input 2×2/);
  assert.throws(() => nb.conv2d(nb.zeros([1, 1, 2, 2]), w, null, { dilation: 2, padding: 1 }), /kernel 3×3 \(dilated 5×5\) is larger than the padded input 4×4/);
  assert.throws(() => nb.conv2d(nb.zeros([1, 1, 5, 5]), nb.zeros([3, 3])), /conv2d: expected weight \[outChannels, inChannels\/groups, kH, kW\], got \[3, 3\]/);
  assert.throws(() => nb.conv2d(nb.zeros([1, 1, 5, 5]), w, nb.zeros([3])), /conv2d: expected bias \[32\] .*got \[3\]/);
  assert.throws(() => nb.conv2d(nb.zeros([1, 4, 5, 5]), nb.zeros([3, 2, 3, 3]), null, { groups: 2 }), /outChannels 3 .* divisible by groups 2/);
  assert.throws(() => nb.conv2d(nb.zeros([1, 1, 5, 5]), w, null, { padding: 'same', stride: 2 }), /padding 'same' needs stride 1/);
  assert.throws(() => nb.conv2d(nb.zeros([1, 1, 5, 5]), w, null, { stride: 0 }), /conv2d: stride must be an integer ≥ 1/);
  assert.throws(() => nb.conv2d(nb.zeros([1, 1, 5, 5], { dtype: 'float64' }), w), /conv2d: input \(float64\) and weight \(float32\)/);
});

test('pooling and batchNorm errors name the op and the shapes', () => {
  assert.throws(() => nb.maxPool2d(nb.zeros([64, 784]), 2), /maxPool2d: expected input \[N, C, H, W\] .*got \[64, 784\]/);
  assert.throws(() => nb.maxPool2d(nb.zeros([1, 1, 4, 4]), 2, { padding: 2 }), /maxPool2d: padding 2×2 must be at most half the kernel 2×2/);
  assert.throws(() => nb.avgPool2d(nb.zeros([1, 1, 2, 2]), 3), /avgPool2d: window 3 .* does not fit input \[1, 1, 2, 2\]/);
  assert.throws(() => nb.adaptiveAvgPool2d(nb.zeros([1, 1, 2, 2]), 0), /adaptiveAvgPool2d: outputSize must be positive/);
  assert.throws(() => nb.batchNorm(nb.zeros([4, 3]), nb.zeros([2]), nb.ones([2])), /batchNorm: expected runningMean \[3\] for input \[4, 3\]/);
  assert.throws(() => nb.batchNorm(nb.zeros([1, 3]), null, null, null, null, { training: true }), /more than 1 value per channel when training, got input \[1, 3\]/);
});

test('conv2d chunks a large batch without changing the result', () => {
  nb.manualSeed(7);
  // C·kh·kw·OH·OW = 160·9·64·64 ≈ 5.9M per image: 16M-element chunks hold 2 images, so 3 images take chunks of 2 and 1
  const x = nb.randn([3, 160, 66, 66]), w = nb.randn([2, 160, 3, 3], { requiresGrad: true });
  const y = nb.conv2d(x, w);
  for (const n of [0, 1, 2]) {
    const yn = nb.conv2d(x.slice(0, n, n + 1), w.detach());
    const a = y.slice(0, n, n + 1).dataSync(), e = yn.dataSync();
    for (let i = 0; i < a.length; i += 97) assert.ok(Math.abs(a[i]! - e[i]!) < 1e-3, `image ${n} element ${i}`);
  }
  y.sum().backward();
  // ∂Σy/∂w[o, c, 0, 0] = Σ over images and output positions of the input under tap (0, 0)
  const expected = x.slice(2, 0, 64).slice(3, 0, 64).sum([0, 2, 3]).dataSync();
  const got = w.grad!.select(0, 1).select(1, 0).select(1, 0).dataSync();
  for (let c = 0; c < 160; c++) assert.ok(Math.abs(got[c]! - expected[c]!) < 1e-2 * Math.max(1, Math.abs(expected[c]!)), `channel ${c}`);
});
