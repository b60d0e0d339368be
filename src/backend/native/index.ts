/**
 * The native backend: float32 kernels from the Node-API addon (AVX-512 or AVX2/FMA, chosen at load time,
 * threaded over the machine's cores), working in place on the tensors' own TypedArrays.
 * It is the reference backend with the float32 kernels replaced, so every other dtype, and any kernel
 * the addon lacks, runs the reference code. Tiny operands also stay in TypeScript, where a call is cheaper.
 */
import type { TypedArray } from '../../tensor/dtype.js';
import type { Backend, BinaryOp, Conv2dGeometry, GemmArgs, ReduceOp, UnaryOp, View } from '../backend.js';
import { cpuBackend } from '../cpu/index.js';
import { type NativeAddon, type NativeInfo, loadAddon } from './addon.js';
import { fusedSteps } from './fused.js';

export type { NativeInfo } from './addon.js';

/** Settings of the native backend; each is optional in `setNativeOptions`. */
export interface NativeOptions {
  /** Kernel instruction set: 'avx512' or 'avx2' (must be one the CPU has). */
  isa: string;
  /** Threads, the calling thread included (default: the CPUs this process may use, or NABLA_NUM_THREADS). */
  threads: number;
  /** Elementwise ops and reductions on fewer elements run in TypeScript (0: always native); for cheap
   *  ops (add, mul, comparisons, copies, ...) the limit is 8 × this. Default 32. */
  minElements: number;
  /** gemm work (2·M·N·K) below which the product stays on one thread. */
  gemmParallelFlops: number;
  /** Elements (weighted by op cost) below which an elementwise op or reduction stays on one thread. */
  parallelElements: number;
  /** How long idle worker threads spin before sleeping, in µs. */
  spinUs: number;
}

const cpu = cpuBackend;

function createNativeBackend(addon: NativeAddon): { backend: Backend; state: { minElements: number } } {
  const info = addon.info();
  const codes = (names: string[]): Map<string, number> => new Map(names.map((n, i) => [n, i]));
  const unaryCode = codes(info.unary), binaryCode = codes(info.binary), reduceCode = codes(info.reduce);
  const maxDims = info.maxDims;
  const meta = new Float64Array(1 + maxDims * 5);
  addon.setMeta(meta);
  const state = { minElements: 32 };

  /** Write shape and the operands' strides into the shared meta array; false when the rank is too high. */
  function space(shape: readonly number[], a: View, b?: View, c?: View): boolean {
    const nd = shape.length;
    if (nd > maxDims) return false;
    meta[0] = nd;
    for (let d = 0; d < nd; d++) meta[1 + d] = shape[d]!;
    let o = 1 + nd;
    for (let d = 0; d < nd; d++) meta[o + d] = a.strides[d]!;
    if (b) { o += nd; for (let d = 0; d < nd; d++) meta[o + d] = b.strides[d]!; }
    if (c) { o += nd; for (let d = 0; d < nd; d++) meta[o + d] = c.strides[d]!; }
    return true;
  }

  const f32 = (x: TypedArray): x is Float32Array => x instanceof Float32Array;

  /** meta = [strides of a 4-D view, then N, C, H, W, kh, kw, sh, sw, padTop, padLeft, dh, dw, OH, OW]. */
  function geometry(strides: readonly number[], g: Conv2dGeometry): void {
    meta[0] = strides[0]!; meta[1] = strides[1]!; meta[2] = strides[2]!; meta[3] = strides[3]!;
    meta[4] = g.N; meta[5] = g.C; meta[6] = g.H; meta[7] = g.W; meta[8] = g.kh; meta[9] = g.kw; meta[10] = g.sh;
    meta[11] = g.sw; meta[12] = g.padTop; meta[13] = g.padLeft; meta[14] = g.dh; meta[15] = g.dw; meta[16] = g.OH; meta[17] = g.OW;
  }
  // the fused optimizer steps sit on the prototype: a caller that overrides and then deletes one
  // (as the optimizer tests do) gets the native one back
  const backend: Backend = Object.assign(Object.create(fusedSteps(addon)) as object, {
    ...cpu,
    name: 'native',

    unary(op: UnaryOp, x: View, out: TypedArray): void {
      if (out.length >= (op in CHEAP ? CHEAP_FACTOR * state.minElements : state.minElements) && f32(x.data)) {
        const code = unaryCode.get(op);
        if (code !== undefined && f32(out) && space(x.shape, x)) { addon.unary(code, x.data, x.offset, out); return; }
        if (op === 'isnan' && out instanceof Uint8Array && space(x.shape, x)) { addon.isnan(x.data, x.offset, out); return; }
      }
      cpu.unary(op, x, out);
    },

    binary(op: BinaryOp, a: View, b: View, out: TypedArray): void {
      if (out.length >= (op in CHEAP ? CHEAP_FACTOR * state.minElements : state.minElements) && f32(a.data) && f32(b.data)) {
        const code = binaryCode.get(op);
        // arithmetic writes float32, comparisons write bytes
        if (code !== undefined && (f32(out) || out instanceof Uint8Array) && (op in CMP) === (out instanceof Uint8Array) && space(a.shape, a, b)) {
          addon.binary(code, a.data, a.offset, b.data, b.offset, out);
          return;
        }
      }
      cpu.binary(op, a, b, out);
    },

    where(cond: View, a: View, b: View, out: TypedArray): void {
      if (out.length >= CHEAP_FACTOR * state.minElements && cond.data instanceof Uint8Array && f32(a.data) && f32(b.data) && f32(out) &&
        space(a.shape, cond, a, b)) {
        addon.where(cond.data, cond.offset, a.data, a.offset, b.data, b.offset, out);
        return;
      }
      cpu.where(cond, a, b, out);
    },

    copy(src: View, dst: View): void {
      if (f32(src.data) && f32(dst.data) && space(src.shape, src, dst)) {
        let n = 1;
        for (const d of src.shape) n *= d;
        if (n >= CHEAP_FACTOR * state.minElements) { addon.copy(src.data, src.offset, dst.data, dst.offset); return; }
      }
      cpu.copy(src, dst);
    },

    reduce(op: ReduceOp, x: TypedArray, xOffset: number, outer: number, n: number, inner: number, out: TypedArray): void {
      const arg = op === 'argmax' || op === 'argmin';
      if (f32(x) && outer * n * inner >= state.minElements && (arg ? out instanceof Int32Array : f32(out)) &&
        (n > 0 || op === 'sum' || op === 'prod')) {
        addon.reduce(reduceCode.get(op)!, x, xOffset, outer, n, inner, out as Float32Array | Int32Array);
        return;
      }
      cpu.reduce(op, x, xOffset, outer, n, inner, out);
    },

    gemm(g: GemmArgs): void {
      if (f32(g.a) && f32(g.b) && f32(g.c)) {
        addon.gemm(g.batch, g.M, g.N, g.K, g.a, g.aOffset, g.lda, g.transA ? 1 : 0, g.aBatchStride,
          g.b, g.bOffset, g.ldb, g.transB ? 1 : 0, g.bBatchStride, g.c);
        return;
      }
      cpu.gemm(g);
    },

    // fused kernels (one call replaces several elementwise ops, so they are worth it at any size)
    activationGrad(op: 'sigmoid' | 'tanh', y: View, g: View, out: TypedArray): boolean {
      if (!f32(y.data) || !f32(g.data) || !f32(out) || !space(y.shape, y, g)) return false;
      addon.activationGrad(op === 'sigmoid' ? 0 : 1, y.data, y.offset, g.data, g.offset, out);
      return true;
    },

    bceForward(p: View, y: View, out: TypedArray): number {
      if (!f32(p.data) || !f32(y.data) || !f32(out) || !space(p.shape, p, y)) return -2;
      return addon.bceForward(p.data, p.offset, y.data, y.offset, out);
    },

    gatherRowsU8(src: Uint8Array, row: number, rows: Int32Array, table: Float32Array, out: Float32Array): void {
      addon.gatherRowsU8(src, row, rows, table, out);
    },

    bceBackward(p: View, y: View, g: View, out: TypedArray): boolean {
      if (!f32(p.data) || !f32(y.data) || !f32(g.data) || !f32(out) || !space(p.shape, p, y, g)) return false;
      addon.bceBackward(p.data, p.offset, y.data, y.offset, g.data, g.offset, out);
      return true;
    },

    batchNormStats(x: View, mean: Float64Array, variance: Float64Array): void {
      if (f32(x.data) && x.shape.length === 3 && x.shape[0]! * x.shape[2]! > 0 && space(x.shape, x)) {
        addon.batchNormStats(x.data, x.offset, mean, variance);
        return;
      }
      cpu.batchNormStats(x, mean, variance);
    },

    channelAffine(x: View, scale: Float64Array, shift: Float64Array, out: TypedArray): void {
      if (f32(x.data) && f32(out) && x.shape.length === 3 && space(x.shape, x)) { addon.channelAffine(x.data, x.offset, scale, shift, out); return; }
      cpu.channelAffine(x, scale, shift, out);
    },

    batchNormBackward(x: View, g: View, mean: Float64Array, invStd: Float64Array, scale: Float64Array, sums: Float64Array, out: TypedArray | null): void {
      if (f32(x.data) && f32(g.data) && (out === null || f32(out)) && x.shape.length === 3 && space(x.shape, x, g)) {
        addon.batchNormBackward(x.data, x.offset, g.data, g.offset, mean, invStd, scale, sums, out);
        return;
      }
      cpu.batchNormBackward(x, g, mean, invStd, scale, sums, out);
    },

    im2col(x: View, g: Conv2dGeometry, n0: number, nb: number, cols: TypedArray): void {
      if (f32(x.data) && f32(cols)) { geometry(x.strides, g); addon.im2col(x.data, x.offset, n0, nb, cols); return; }
      cpu.im2col(x, g, n0, nb, cols);
    },

    col2im(cols: TypedArray, g: Conv2dGeometry, n0: number, nb: number, out: TypedArray): void {
      if (f32(cols) && f32(out)) { geometry([0, 0, 0, 0], g); addon.col2im(cols, n0, nb, out); return; }
      cpu.col2im(cols, g, n0, nb, out);
    },

    reluGrad(y: View, g: View, out: TypedArray): boolean {
      if (!f32(y.data) || !f32(g.data) || !f32(out) || !isDense(y) || !isDense(g)) return false;
      addon.reluGrad(y.data, y.offset, g.data, g.offset, out, out.length);
      return true;
    },

    conv2dDirect(x: View, w: View, bias: View | null, g: Conv2dGeometry, out: TypedArray): boolean {
      if (!f32(x.data) || !f32(w.data) || !f32(out) || (bias && (!f32(bias.data) || bias.strides[0] !== 1)) || !directFits(g) ||
        x.strides[3] !== 1 || !isDense(w)) return false;
      geometry(x.strides, g);
      addon.convDirect(x.data, x.offset, w.data, w.offset, bias ? bias.data as Float32Array : null, bias?.offset ?? 0, w.shape[0]!, out);
      return true;
    },

    conv2dDirectWeightGrad(x: View, gy: View, g: Conv2dGeometry, gw: TypedArray, gb: TypedArray | null): boolean {
      if (!f32(x.data) || !f32(gy.data) || !f32(gw) || (gb && !f32(gb)) || !directFits(g) || x.strides[3] !== 1 || gy.strides[3] !== 1) return false;
      geometry(x.strides, g);
      meta[18] = gy.strides[0]!; meta[19] = gy.strides[1]!; meta[20] = gy.strides[2]!; meta[21] = gy.strides[3]!;
      addon.convDirectWeightGrad(x.data, x.offset, gy.data, gy.offset, gy.shape[1]!, gw, gb as Float32Array | null);
      return true;
    },

    conv2d(x: View, w: View, bias: View | null, g: Conv2dGeometry, out: TypedArray): boolean {
      if (!f32(x.data) || !f32(w.data) || !f32(out) || (bias && (!f32(bias.data) || bias.strides[0] !== 1)) || !isDense(w)) return false;
      geometry(x.strides, g);
      return addon.convGemm(x.data, x.offset, w.data, w.offset, bias ? bias.data as Float32Array : null, bias?.offset ?? 0, w.shape[0]!, out);
    },

    conv2dInputGrad(gy: View, w: View, g: Conv2dGeometry, out: TypedArray): boolean {
      if (!f32(gy.data) || !f32(w.data) || !f32(out) || !isDense(gy) || !isDense(w)) return false;
      geometry([0, 0, 0, 0], g);
      return addon.convGemmInputGrad(gy.data, gy.offset, w.data, w.offset, w.shape[0]!, out);
    },

    conv2dWeightGrad(x: View, gy: View, g: Conv2dGeometry, gw: TypedArray, gb: TypedArray | null): boolean {
      if (!f32(x.data) || !f32(gy.data) || !f32(gw) || (gb && !f32(gb)) || !isDense(gy)) return false;
      geometry(x.strides, g);
      return addon.convGemmWeightGrad(x.data, x.offset, gy.data, gy.offset, gy.shape[1]!, gw, gb as Float32Array | null);
    },

    maxPool2d(x: View, g: Conv2dGeometry, out: TypedArray, indices: Int32Array): void {
      if (f32(x.data) && f32(out)) { geometry(x.strides, g); addon.maxPool2d(x.data, x.offset, out, indices); return; }
      cpu.maxPool2d(x, g, out, indices);
    },

    maxPool2dBackward(g: View, indices: Int32Array, H: number, W: number, out: TypedArray): void {
      if (f32(g.data) && f32(out) && g.shape.length === 4) {
        meta[0] = g.strides[0]!; meta[1] = g.strides[1]!; meta[2] = g.strides[2]!; meta[3] = g.strides[3]!;
        meta[4] = g.shape[0]!; meta[5] = g.shape[1]!; meta[6] = g.shape[2]!; meta[7] = g.shape[3]!;
        addon.maxPool2dBackward(g.data, g.offset, indices, H, W, out);
        return;
      }
      cpu.maxPool2dBackward(g, indices, H, W, out);
    },
  });
  return { backend, state };
}

/** The geometry the direct convolution kernels take: stride 1, no padding, no dilation. */
const directFits = (g: Conv2dGeometry): boolean => g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1 && g.padTop === 0 &&
  g.padLeft === 0 && g.OH === g.H - g.kh + 1 && g.OW === g.W - g.kw + 1 && g.C * g.kh * g.kw <= 1024;

/** A row-major contiguous view. */
function isDense(v: View): boolean {
  let s = 1;
  for (let d = v.shape.length - 1; d >= 0; d--) { if (v.shape[d] !== 1 && v.strides[d] !== s) return false; s *= v.shape[d]!; }
  return true;
}

const CMP: Record<string, true> = { eq: true, ne: true, lt: true, le: true, gt: true, ge: true };
/** Ops as cheap in TypeScript as a call into the addon (about 0.5 µs) until CHEAP_FACTOR × minElements elements. */
const CHEAP: Record<string, true> = {
  ...CMP, add: true, sub: true, mul: true, maximum: true, minimum: true, neg: true, abs: true, relu: true, sign: true,
  floor: true, ceil: true, isnan: true,
};
const CHEAP_FACTOR = 8;

const loaded = loadAddon();
const created = loaded.addon ? createNativeBackend(loaded.addon) : null;

/** The native backend, or null when the addon is not available (see `nativeUnavailableReason`). */
export const nativeBackend: Backend | null = created?.backend ?? null;
/** Why the native backend is not available; null when it is. */
export const nativeUnavailableReason: string | null = loaded.error;

/** The addon's report on itself (instruction set, threads, tuning), or null without the addon. */
export function nativeInfo(): (NativeInfo & { minElements: number }) | null {
  if (!loaded.addon || !created) return null;
  return { ...loaded.addon.info(), minElements: created.state.minElements };
}

/** Change the native backend's settings (thread count, instruction set, size thresholds). */
export function setNativeOptions(opts: Partial<NativeOptions>): void {
  const addon = loaded.addon;
  if (!addon || !created) throw new Error(`setNativeOptions: the native backend is not available (${loaded.error})`);
  if (opts.isa !== undefined && !addon.setIsa(opts.isa)) {
    throw new Error(`setNativeOptions: isa '${opts.isa}' is not available on this CPU (available: ${addon.info().isas.join(', ')})`);
  }
  if (opts.threads !== undefined) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new Error(`setNativeOptions: threads must be a positive integer, got ${opts.threads}`);
    addon.setThreads(opts.threads);
  }
  if (opts.minElements !== undefined) created.state.minElements = Math.max(0, opts.minElements);
  addon.setTuning(opts.gemmParallelFlops ?? -1, opts.parallelElements ?? -1, opts.spinUs ?? -1);
}

/** Threads of the native backend's pool (the calling thread included). */
export function setNativeThreads(n: number): void {
  setNativeOptions({ threads: n });
}

let warned = false;
/**
 * Say once (a process warning) that the native backend is missing and why, unless the user chose a
 * backend (NABLA_BACKEND) or turned native off (NABLA_NATIVE=0, NABLA_SKIP_NATIVE=1).
 */
export function warnIfNativeMissing(fallback: string): void {
  if (nativeBackend || warned) return;
  warned = true;
  const env = process.env;
  if (env.NABLA_BACKEND || env.NABLA_NATIVE === '0' || env.NABLA_SKIP_NATIVE === '1') return;
  process.emitWarning(`nabla: native backend unavailable (${nativeUnavailableReason}); using '${fallback}'`, { code: 'NABLA_NO_NATIVE' });
}
