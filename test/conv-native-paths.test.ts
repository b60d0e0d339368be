/**
 * The fast paths of the convolution layers against the reference: the native direct kernels (first layers,
 * C·kh·kw ≤ 32) against their TypeScript references, the batched products over several cache-sized chunks of
 * images, the bias folded into the products, ReLU's gradient from its output, and the recorded expressions
 * (double backward) agreeing with the fused first-order paths. Native cases skip when the addon is not built.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { registerBackend, type Conv2dGeometry } from '../src/backend/backend.js';
import { conv2dDirect, conv2dDirectWeightGrad } from '../src/backend/cpu/conv.js';
import { cpuBackend } from '../src/backend/cpu/index.js';
import { nativeBackend, nativeInfo, nativeUnavailableReason, setNativeOptions } from '../src/backend/native/index.js';
import { assertClose } from './helpers/assert.js';

const skip = nativeBackend ? false : `native backend unavailable: ${nativeUnavailableReason}`;
if (skip) console.log(`# skipping the native cases: ${skip}`);
if (nativeBackend && !nb.listBackends().includes('native')) registerBackend(nativeBackend);
const F = nb.nn.functional;
const isas = nativeInfo()?.isas ?? [];
const initialIsa = nativeInfo()?.isa;
after(() => { if (initialIsa) setNativeOptions({ isa: initialIsa }); });

function on<T>(name: string, f: () => T): T {
  const prev = nb.getBackend();
  nb.setBackend(name);
  try { return f(); } finally { nb.setBackend(prev); }
}

const geometry = (N: number, C: number, H: number, W: number, kh: number, kw: number): Conv2dGeometry =>
  ({ N, C, H, W, kh, kw, sh: 1, sw: 1, padTop: 0, padLeft: 0, dh: 1, dw: 1, OH: H - kh + 1, OW: W - kw + 1 });

for (const isa of isas) test(`native direct convolution kernels agree with their references (forward + bias, weight + bias gradient, strided views; ${isa})`, { skip }, () => {
  const be = nativeBackend!;
  setNativeOptions({ isa });
  for (const [N, C, O, H, W, kh, kw] of [[3, 1, 32, 28, 28, 3, 3], [2, 3, 5, 9, 40, 3, 3], [2, 2, 4, 7, 6, 2, 5], [1, 1, 3, 5, 5, 1, 7]]) {
    const g = geometry(N!, C!, H!, W!, kh!, kw!);
    if (g.OW < 1) continue;
    const gen = new nb.Generator(3);
    const x = nb.randn([N!, C!, H!, W!], { generator: gen }), w = nb.randn([O!, C!, kh!, kw!], { generator: gen }), b = nb.randn([O!], { generator: gen });
    const out = new Float32Array(N! * O! * g.OH * g.OW), ref = new Float32Array(out.length);
    assert.equal(be.conv2dDirect!(x, w, b, g, out), true);
    conv2dDirect(x, w, b, g, ref);
    assertClose(out, ref, { rtol: 1e-5, atol: 1e-5 }, `forward ${[N, C, O, H, W, kh, kw]}`);
    // the output gradient as a strided view: [N, O, OH, OW] read from an [O, N, OH, OW] array
    const gy = nb.randn([O!, N!, g.OH, g.OW], { generator: gen }).permute([1, 0, 2, 3]);
    const gw = new Float32Array(w.size), gb = new Float32Array(O!), rw = new Float32Array(w.size), rb = new Float32Array(O!);
    assert.equal(be.conv2dDirectWeightGrad!(x, gy, g, gw, gb), true);
    conv2dDirectWeightGrad(x, gy, g, rw, rb);
    assertClose(gw, rw, { rtol: 1e-4, atol: 1e-4 }, `weight gradient ${[N, C, O, H, W, kh, kw]}`);
    assertClose(gb, rb, { rtol: 1e-4, atol: 1e-4 }, `bias gradient ${[N, C, O, H, W, kh, kw]}`);
  }
  // geometry the direct kernels do not take: they decline and write nothing
  const g = { ...geometry(1, 1, 6, 6, 3, 3), padTop: 1, padLeft: 1, OH: 6, OW: 6 };
  assert.equal(be.conv2dDirect!(nb.randn([1, 1, 6, 6]), nb.randn([2, 1, 3, 3]), null, g, new Float32Array(72)), false);
});

/** Output and gradients of sum(conv(x, w, b) · seed) on a backend. */
function convAndGrads(backend: string, xs: number[], ws: number[], opts: Record<string, unknown>, bias = true): Tensor[] {
  return on(backend, () => {
    const gen = new nb.Generator(11);
    const x = nb.randn(xs, { generator: gen }).requiresGrad_(true), w = nb.randn(ws, { generator: gen }).requiresGrad_(true);
    const b = bias ? nb.randn([ws[0]!], { generator: gen }).requiresGrad_(true) : null;
    const y = F.conv2d(x, w, b, opts);
    y.mul(nb.randn(y.shape, { generator: gen })).sum().backward();
    return [y.detach(), x.grad!, w.grad!, ...(b ? [b.grad!] : [])];
  });
}

for (const isa of isas) test(`conv2d over several image chunks, with and without groups or bias: native agrees with the reference (${isa})`, { skip }, () => {
  setNativeOptions({ isa });
  const cases: [number[], number[], Record<string, unknown>, boolean][] = [
    [[20, 32, 13, 13], [16, 32, 3, 3], {}, true],            // 3 chunks of 7 images
    [[20, 32, 13, 13], [16, 32, 3, 3], { padding: 1 }, false],
    [[18, 32, 12, 12], [8, 16, 3, 3], { groups: 2, stride: 2 }, true],
    [[9, 2, 30, 30], [6, 2, 3, 3], {}, true],                // the direct kernels with 2 channels
    [[1, 32, 13, 13], [64, 32, 3, 3], {}, true],            // the per-image products: one image
    [[11, 8, 15, 12], [5, 8, 2, 3], { stride: [2, 1], dilation: [1, 2], padding: [2, 1] }, true],
    [[23, 6, 9, 9], [7, 6, 5, 5], { padding: 'same' }, false], // weight gradient over tasks of several products
    [[10, 5, 14, 12], [6, 5, 3, 3], { padding: [2, 0], stride: [2, 1], dilation: [2, 2] }, true], // im2col rows copied whole
    [[4, 4, 8, 40], [5, 4, 3, 3], { padding: [1, 0] }, true], // rows wider than a vector
  ];
  for (const [xs, ws, opts, bias] of cases) {
    const a = convAndGrads('native', xs, ws, opts, bias), r = convAndGrads('cpu', xs, ws, opts, bias);
    a.forEach((t, i) => assertClose(t, r[i]!, { rtol: 2e-4, atol: 2e-4 }, `conv2d ${xs} ${ws} ${JSON.stringify(opts)}: ${['output', 'x grad', 'w grad', 'b grad'][i]}`));
  }
  // a strided input (channels outermost in memory) and a strided output gradient
  const strided = (backend: string): Tensor[] => on(backend, () => {
    const gen = new nb.Generator(5);
    const x = nb.randn([16, 6, 10, 10], { generator: gen }).requiresGrad_(true), w = nb.randn([12, 16, 3, 3], { generator: gen }).requiresGrad_(true);
    const y = F.conv2d(x.permute([1, 0, 2, 3]), w, null, { padding: 1 });
    y.backward(nb.randn([12, 6, 10, 10], { generator: gen }).permute([1, 0, 2, 3]));
    return [y.detach(), x.grad!, w.grad!];
  });
  const a = strided('native'), r = strided('cpu');
  a.forEach((t, i) => assertClose(t, r[i]!, { rtol: 2e-4, atol: 2e-4 }, `strided conv2d: result ${i}`));
});

test('the folded bias (product with a row of ones) and the recorded expressions give the same first-order gradients', () => {
  nb.manualSeed(4);
  const x = nb.randn([5, 3, 9, 8], { dtype: 'float64' }), w = nb.randn([4, 3, 3, 3], { dtype: 'float64' }).requiresGrad_(true);
  const b = nb.randn([4], { dtype: 'float64' }).requiresGrad_(true);
  for (const opts of [{}, { padding: 1, stride: 2 }]) {
    const y = F.conv2d(x, w, b, opts), seed = nb.randn(y.shape, { dtype: 'float64' });
    const fused = nb.autograd.grad(y, [w, b], { gradOutputs: [seed], retainGraph: true });
    const expr = nb.autograd.grad(y, [w, b], { gradOutputs: [seed], createGraph: true });
    fused.forEach((f, i) => assertClose(f!, expr[i]!, { rtol: 1e-12, atol: 1e-12 }, `${JSON.stringify(opts)} gradient ${i}`));
  }
});

test('the reference CNN\'s first layer and ReLU on native: gradients of gradients (recorded expressions) agree with the reference', { skip }, () => {
  const run = (backend: string): Tensor[] => on(backend, () => {
    const gen = new nb.Generator(2);
    const x = nb.randn([4, 1, 12, 12], { generator: gen }).requiresGrad_(true), w = nb.randn([6, 1, 3, 3], { generator: gen }).requiresGrad_(true);
    const b = nb.randn([6], { generator: gen }).requiresGrad_(true);
    const y = F.maxPool2d(nb.relu(F.conv2d(x, w, b)), 2);
    const [gw, gb] = nb.autograd.grad(y.pow(2).sum(), [w, b], { createGraph: true });
    gw!.pow(2).sum().add(gb!.pow(2).sum()).backward();
    return [gw!.detach(), gb!.detach(), x.grad!, w.grad!, b.grad!];
  });
  const a = run('native'), r = run('cpu');
  a.forEach((t, i) => assertClose(t, r[i]!, { rtol: 1e-4, atol: 1e-4 }, `result ${i}`));
});

test('ReLU\'s gradient from its output: fused (native) and expression paths agree, zero at x ≤ 0 and NaN', { skip }, () => {
  const run = (backend: string): Tensor[] => on(backend, () => {
    const x = nb.randn([3, 70, 50], { generator: new nb.Generator(9) });
    x.data[5] = 0; x.data[6] = NaN; x.data[7] = -0;
    const xr = x.requiresGrad_(true), g = nb.randn(x.shape, { generator: new nb.Generator(10) });
    nb.relu(xr).backward(g);
    return [xr.grad!];
  });
  const a = run('native'), r = run('cpu');
  assertClose(a[0]!, r[0]!, { rtol: 0, atol: 0 }, 'relu gradient');
  assert.equal(a[0]!.data[5], 0); assert.equal(a[0]!.data[6], 0); assert.equal(a[0]!.data[7], 0);
});

for (const isa of isas) test(`max pooling's backward on native (aligned 2×2 blocks written row pair by row pair, other windows scattered) agrees with the reference (${isa})`, { skip }, () => {
  setNativeOptions({ isa });
  const cases: [number[], number, Record<string, unknown>, boolean][] = [
    [[3, 4, 11, 13], 2, {}, false],                   // odd sizes: the last row and column get no gradient
    [[2, 3, 26, 26], 2, {}, true],                    // a strided output gradient: scattered
    [[2, 3, 10, 10], 3, { stride: 2, padding: 1 }, false], // as many windows as 2×2 blocks, indices outside them
  ];
  for (const [xs, k, opts, strided] of cases) {
    const run = (backend: string): Tensor => on(backend, () => {
      const gen = new nb.Generator(6);
      const x = nb.randn(xs, { generator: gen }).requiresGrad_(true);
      const y = F.maxPool2d(x, k, opts);
      const [N, C, OH, OW] = y.shape as [number, number, number, number];
      y.backward(strided ? nb.randn([N, C, OW, OH], { generator: gen }).transpose(2, 3) : nb.randn(y.shape, { generator: gen }));
      return x.grad!;
    });
    assertClose(run('native'), run('cpu'), { rtol: 0, atol: 0 }, `maxPool2d ${xs} ${k} ${JSON.stringify(opts)}`);
  }
  // 2×2 geometry with indices outside their blocks (but inside the plane): the plane is scattered instead
  const g = nb.randn([1, 2, 3, 3], { generator: new nb.Generator(7) });
  const idx = new Int32Array(18);
  for (let i = 0; i < 18; i++) idx[i] = (i * 7) % 36;
  const out = new Float32Array(72), ref = new Float32Array(72);
  nativeBackend!.maxPool2dBackward(g, idx, 6, 6, out);
  cpuBackend.maxPool2dBackward(g, idx, 6, 6, ref);
  assertClose(out, ref, { rtol: 0, atol: 0 }, 'indices outside their blocks');
});
