/**
 * Loading the native addon (build/Release/nabla_native.node, built from native/ by `npm install`).
 * Loading never throws: on failure the reason is kept, and nabla runs on the other backends.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What the addon reports about itself. */
export interface NativeInfo {
  /** Instruction set of the active kernels ('avx512' or 'avx2'). */
  isa: string;
  /** Instruction sets this CPU can run. */
  isas: string[];
  /** Threads used by the pool (the calling thread included). */
  threads: number;
  /** CPUs this process may run on. */
  cpus: number;
  /** gemm micro-tile. */
  mr: number; nr: number;
  /** How long idle workers spin before sleeping (µs). */
  spinUs: number;
  /** Work below which a gemm stays on the calling thread (flops). */
  gemmParallelFlops: number;
  /** gemm blocking: k-block and tile width (columns). */
  gemmKc: number; gemmNc: number;
  /** Elements below which an elementwise op or reduction stays on the calling thread. */
  parallelElements: number;
  maxDims: number;
  /** Pool jobs so far; jobs where a descheduled worker stalled the caller (> 0.2 ms); jobs then run on one thread. */
  poolJobs: number; poolStalls: number; poolSerialJobs: number;
  /** Op names in the order of their codes. */
  unary: string[]; binary: string[]; reduce: string[];
}

/** The addon's functions (see native/src/addon.cc). Booleans travel as 0/1. */
export interface NativeAddon {
  setMeta(meta: Float64Array): void;
  gemm(batch: number, M: number, N: number, K: number,
    a: Float32Array, aOffset: number, lda: number, transA: number, aBatchStride: number,
    b: Float32Array, bOffset: number, ldb: number, transB: number, bBatchStride: number, c: Float32Array): void;
  unary(op: number, x: Float32Array, xOffset: number, out: Float32Array): void;
  isnan(x: Float32Array, xOffset: number, out: Uint8Array): void;
  binary(op: number, a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, out: Float32Array | Uint8Array): void;
  where(c: Uint8Array, cOffset: number, a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, out: Float32Array): void;
  copy(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number): void;
  reduce(op: number, x: Float32Array, xOffset: number, outer: number, n: number, inner: number, out: Float32Array | Int32Array): void;
  setIsa(isa: string): boolean;
  setThreads(n: number): void;
  /** Negative values leave a setting unchanged; kc and nc (optional) set the gemm blocking. */
  setTuning(gemmParallelFlops: number, parallelElements: number, spinUs: number, kc?: number, nc?: number): void;
  info(): NativeInfo;
  // fused optimizer steps (see ./fused.ts)
  sgdStep(param: Float32Array, grad: Float32Array, buf: Float32Array | null, n: number, lr: number, momentum: number,
    dampening: number, weightDecay: number, nesterov: number, maximize: number, firstStep: number): void;
  adamStep(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, stepSize: number, invSqrtBc2: number,
    decoupled: number, maximize: number): void;
  // fused activation gradient (op 0 sigmoid, 1 tanh) and binary cross-entropy; views described in the meta array
  activationGrad(op: number, y: Float32Array, yOffset: number, g: Float32Array, gOffset: number, out: Float32Array): void;
  /** The first position whose p is outside [0, 1], or −1. */
  bceForward(p: Float32Array, pOffset: number, y: Float32Array, yOffset: number, out: Float32Array): number;
  bceBackward(p: Float32Array, pOffset: number, y: Float32Array, yOffset: number, g: Float32Array, gOffset: number, out: Float32Array): void;
  // batch norm over a [N, C, S] view described in the meta array
  batchNormStats(x: Float32Array, xOffset: number, mean: Float64Array, variance: Float64Array): void;
  channelAffine(x: Float32Array, xOffset: number, scale: Float64Array, shift: Float64Array, out: Float32Array): void;
  batchNormBackward(x: Float32Array, xOffset: number, g: Float32Array, gOffset: number, mean: Float64Array, invStd: Float64Array,
    scale: Float64Array, sums: Float64Array, out: Float32Array | null): void;
  // convolution and pooling; strides and geometry in the meta array
  im2col(x: Float32Array, xOffset: number, n0: number, nb: number, cols: Float32Array): void;
  col2im(cols: Float32Array, n0: number, nb: number, out: Float32Array): void;
  maxPool2d(x: Float32Array, xOffset: number, out: Float32Array, indices: Int32Array): void;
  maxPool2dBackward(g: Float32Array, gOffset: number, indices: Int32Array, H: number, W: number, out: Float32Array): void;
  gatherRowsU8(src: Uint8Array, row: number, rows: Int32Array, table: Float32Array, out: Float32Array): void;
  /** out[i] = y[yOffset + i] > 0 ? g[gOffset + i] : 0 for i < n (ReLU's gradient from its output). */
  reluGrad(y: Float32Array, yOffset: number, g: Float32Array, gOffset: number, out: Float32Array, n: number): void;
  /** Direct convolution (stride 1, no padding or dilation); meta as im2col's. */
  convDirect(x: Float32Array, xOffset: number, w: Float32Array, wOffset: number, bias: Float32Array | null, biasOffset: number, O: number, out: Float32Array): void;
  /** Its weight (and bias) gradient; meta as im2col's, then the output gradient's strides at [18..21]. */
  convDirectWeightGrad(x: Float32Array, xOffset: number, gy: Float32Array, gyOffset: number, O: number, gw: Float32Array, gb: Float32Array | null): void;
  /** Convolution as products over a few images per pool task; meta as im2col's. False when the images are too large. */
  convGemm(x: Float32Array, xOffset: number, w: Float32Array, wOffset: number, bias: Float32Array | null, biasOffset: number, O: number, out: Float32Array): boolean;
  /** Its input gradient (gy contiguous); meta as col2im's. */
  convGemmInputGrad(gy: Float32Array, gyOffset: number, w: Float32Array, wOffset: number, O: number, out: Float32Array): boolean;
  /** Its weight (and bias) gradient (gy contiguous); meta as im2col's. */
  convGemmWeightGrad(x: Float32Array, xOffset: number, gy: Float32Array, gyOffset: number, O: number, gw: Float32Array, gb: Float32Array | null): boolean;
}

export interface LoadResult {
  addon: NativeAddon | null;
  /** Why the addon is not available (null when it is). */
  error: string | null;
  path: string;
}

/** The addon's path: NABLA_NATIVE_PATH, else build/Release under the package root: three levels above this file
 *  in src/backend/native and dist/backend/native, one above the bundle dist/nabla.js (scripts/bundle.mjs). */
export function addonPath(): string {
  const env = process.env.NABLA_NATIVE_PATH;
  if (env) return env;
  const bundled = /[\\/]dist[\\/]nabla(-cli)?\.js$/.test(fileURLToPath(import.meta.url));
  return fileURLToPath(new URL(bundled ? '../build/Release/nabla_native.node' : '../../../build/Release/nabla_native.node', import.meta.url));
}

export function loadAddon(): LoadResult {
  const path = addonPath();
  if (process.env.NABLA_NATIVE === '0') return { addon: null, error: 'disabled by NABLA_NATIVE=0', path };
  if (!existsSync(path)) {
    return { addon: null, error: `the addon is not built: ${path} is missing (run \`npm run build:native\` to see why)`, path };
  }
  try {
    const require = createRequire(import.meta.url);
    return { addon: require(path) as NativeAddon, error: null, path };
  } catch (e) {
    return { addon: null, error: `the addon failed to load: ${(e as Error).message.split('\n')[0]}`, path };
  }
}
