/**
 * 2-D pooling over NCHW images: max (gradient routed to the argmax through scatterAdd), average and
 * adaptive average (one windowed-average kernel and its adjoint, each the other's gradient).
 */
import { backend, type Conv2dGeometry, type PoolWindows } from '../backend/backend.js';
import { record } from '../autograd/node.js';
import { allocateUninitialized, isFloat } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type Pair, pair } from './conv.js';
import { gather, reshape, squeeze, unsqueeze } from './shape.js';
import { empty, uninitialized } from './util.js';

export interface MaxPool2dOptions {
  /** Step between windows. Default: the kernel size. */
  stride?: Pair;
  /** Implicit −∞ padding on each side, at most half the kernel. Default 0. */
  padding?: Pair;
  /** Spacing between window taps. Default 1. */
  dilation?: Pair;
  /** Round the output size up, so a partial window at the end counts. Default false. */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  stride?: Pair;
  /** Implicit zero padding on each side, at most half the kernel. Default 0. */
  padding?: Pair;
  ceilMode?: boolean;
  /** Count padded zeros in the divisor. Default true, as PyTorch. */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead. */
  divisorOverride?: number;
}

/** The 4-D input (unbatched [C, H, W] is lifted to [1, C, H, W] and lowered again). */
function batched(x: Tensor, op: string, f: (x4: Tensor) => Tensor): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: input must be a Tensor`);
  if (x.ndim === 3) return squeeze(f(unsqueeze(x, 0)), 0);
  if (x.ndim !== 4) throw new Error(`${op}: expected input [N, C, H, W] (or unbatched [C, H, W]), got ${fmt(x.shape)}`);
  if (!isFloat(x.dtype)) throw new Error(`${op}: expected a floating-point input, got ${x.dtype}`);
  return f(x);
}

/** PyTorch's pooling output size, with ceil mode's rule that the last window must start inside the input or left padding. */
function outSize(op: string, x: Tensor, size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  if (out < 1) throw new Error(`${op}: window ${k} (dilation ${d}, padding ${p}) does not fit input ${fmt(x.shape)}: output size would be ${out}`);
  return out;
}

function windowArgs(op: string, x: Tensor, kernelSize: Pair, o: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean }): Conv2dGeometry {
  const [kh, kw] = pair(kernelSize, 1, op, 'kernelSize', 1);
  const [sh, sw] = pair(o.stride, [kh, kw], op, 'stride', 1);
  const [ph, pw] = pair(o.padding, 0, op, 'padding', 0);
  const [dh, dw] = pair(o.dilation, 1, op, 'dilation', 1);
  if (ph > kh >> 1 || pw > kw >> 1) throw new Error(`${op}: padding ${ph}×${pw} must be at most half the kernel ${kh}×${kw}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const ceil = o.ceilMode ?? false;
  const OH = outSize(op, x, H, kh, sh, ph, dh, ceil), OW = outSize(op, x, W, kw, sw, pw, dw, ceil);
  return { N, C, H, W, kh, kw, sh, sw, padTop: ph, padLeft: pw, dh, dw, OH, OW };
}

/** Max over sliding windows of input [N, C, H, W] (or [C, H, W]), as torch.nn.functional.max_pool2d. */
export function maxPool2d(input: Tensor, kernelSize: Pair, opts: MaxPool2dOptions = {}): Tensor {
  return batched(input, 'maxPool2d', (x) => {
    const geo = windowArgs('maxPool2d', x, kernelSize, opts);
    const { N, C, H, W, OH, OW } = geo;
    const out = uninitialized([N, C, OH, OW], x.dtype), idx = allocateUninitialized('int32', out.size) as Int32Array; // both written in full
    backend().maxPool2d(x, geo, out.data, idx);
    // ∂y/∂x: each window's gradient goes to its argmax
    return record(out, 'MaxPool2DWithIndicesBackward', [x], (g) => [maxPoolGrad(g, idx, H, W)]);
  });
}

/** Scatter-add g into the argmax positions; its own gradient gathers from them. */
function maxPoolGrad(g: Tensor, idx: Int32Array, H: number, W: number): Tensor {
  const [N, C, OH, OW] = g.shape as [number, number, number, number];
  const out = uninitialized([N, C, H, W], g.dtype); // written in full
  backend().maxPool2dBackward(g, idx, H, W, out.data);
  // linear in g: ∂/∂g picks h at each window's argmax
  return record(out, 'MaxPool2DWithIndicesBackwardBackward', [g], (h) => [
    reshape(gather(reshape(h, [N, C, H * W]), 2, new Tensor(idx, [N, C, OH * OW])), [N, C, OH, OW]),
  ]);
}

/** Average over windows given per axis; its gradient is the adjoint op, whose gradient is this op again. */
function windowedMean(x: Tensor, rows: PoolWindows, cols: PoolWindows, name: string): Tensor {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const out = uninitialized([N, C, rows.start.length, cols.start.length], x.dtype); // written in full
  backend().avgPool2d(x, rows, cols, out.data);
  // linear: ∂y/∂x = the adjoint, spreading each output's gradient evenly over its window
  return record(out, name, [x], (g) => [windowedMeanAdjoint(g, rows, cols, H, W, name)]);
}

function windowedMeanAdjoint(g: Tensor, rows: PoolWindows, cols: PoolWindows, H: number, W: number, name: string): Tensor {
  const out = empty([g.shape[0]!, g.shape[1]!, H, W], g.dtype);
  backend().avgPool2dBackward(g, rows, cols, H, W, out.data);
  // the adjoint of the adjoint is the pooling itself
  return record(out, `${name}Backward`, [g], (h) => [windowedMean(h, rows, cols, name)]);
}

/** One axis of avg_pool2d: windows [o·s − p, o·s − p + k) clipped to the input, PyTorch's divisor. */
function avgWindows(n: number, size: number, k: number, s: number, p: number, includePad: boolean, divisor?: number): PoolWindows {
  const w: PoolWindows = { start: new Int32Array(n), end: new Int32Array(n), count: new Float64Array(n) };
  for (let o = 0; o < n; o++) {
    const a = o * s - p, b = Math.min(a + k, size + p);
    const a0 = Math.max(a, 0), b0 = Math.min(b, size);
    w.start[o] = a0; w.end[o] = b0;
    w.count[o] = divisor ?? (includePad ? b - a : b0 - a0);
  }
  return w;
}

/** Mean over sliding windows of input [N, C, H, W] (or [C, H, W]), as torch.nn.functional.avg_pool2d. */
export function avgPool2d(input: Tensor, kernelSize: Pair, opts: AvgPool2dOptions = {}): Tensor {
  return batched(input, 'avgPool2d', (x) => {
    const g = windowArgs('avgPool2d', x, kernelSize, opts);
    const d = opts.divisorOverride;
    if (d !== undefined && (!Number.isFinite(d) || d === 0)) throw new Error(`avgPool2d: divisorOverride must be a non-zero number, got ${d}`);
    const inc = opts.countIncludePad ?? true;
    const rows = avgWindows(g.OH, g.H, g.kh, g.sh, g.padTop, inc, d);
    const cols = avgWindows(g.OW, g.W, g.kw, g.sw, g.padLeft, inc, d === undefined ? undefined : 1);
    return windowedMean(x, rows, cols, 'AvgPool2D');
  });
}

/** One axis of adaptive pooling: output i covers [⌊i·size/n⌋, ⌈(i+1)·size/n⌉). */
function adaptiveWindows(n: number, size: number): PoolWindows {
  const w: PoolWindows = { start: new Int32Array(n), end: new Int32Array(n), count: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    w.start[i] = Math.floor((i * size) / n);
    w.end[i] = Math.ceil(((i + 1) * size) / n);
    w.count[i] = w.end[i]! - w.start[i]!;
  }
  return w;
}

/** Average pooling to a fixed output size (null keeps that input dim), as torch.nn.functional.adaptive_avg_pool2d. */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  return batched(input, 'adaptiveAvgPool2d', (x) => {
    const [, , H, W] = x.shape as [number, number, number, number];
    const [oh, ow] = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0] ?? H, outputSize[1] ?? W];
    if (![oh, ow].every((k) => Number.isInteger(k) && k >= 1)) throw new Error(`adaptiveAvgPool2d: outputSize must be positive integers, got ${JSON.stringify(outputSize)}`);
    if (H === 0 || W === 0) throw new Error(`adaptiveAvgPool2d: input ${fmt(x.shape)} has an empty spatial dim`);
    return windowedMean(x, adaptiveWindows(oh, H), adaptiveWindows(ow, W), 'AdaptiveAvgPool2D');
  });
}
