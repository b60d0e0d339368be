/**
 * The backend seam: every raw loop in nabla lives behind this interface.
 * Ops (src/ops) call only these kernels; a faster backend replaces them without touching ops or autograd.
 * All outputs passed as a bare TypedArray are contiguous (row-major) and sized for the result.
 */
import type { DType, TypedArray } from '../tensor/dtype.js';
import { noteUnsupported } from '../tensor/trace.js';

/** A strided window on a storage array: element (i0, i1, …) is data[offset + Σ ik·strides[k]]. */
export interface View {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sigmoid' | 'tanh' | 'relu' | 'sign' | 'reciprocal'
  | 'sin' | 'cos' | 'erf' | 'floor' | 'ceil' | 'round' | 'not' | 'isnan';

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'and' | 'or';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min' | 'argmax' | 'argmin';

/** C[b] = op(A[b]) · op(B[b]) for b < batch; op(X) is X or Xᵀ. C is contiguous [batch, M, N]. */
export interface GemmArgs {
  batch: number; M: number; N: number; K: number;
  a: TypedArray; aOffset: number; lda: number; transA: boolean; aBatchStride: number;
  b: TypedArray; bOffset: number; ldb: number; transB: boolean; bBatchStride: number;
  c: TypedArray;
}

/**
 * Sliding-window geometry of a 2-D convolution or pooling over x [N, C, H, W] (NCHW, as PyTorch).
 * Output position (oh, ow), kernel tap (i, j) reads input row oh·sh − padTop + i·dh, column ow·sw − padLeft + j·dw;
 * positions outside the image read as 0 (convolution) or are skipped (pooling).
 */
export interface Conv2dGeometry {
  N: number; C: number; H: number; W: number;
  kh: number; kw: number; sh: number; sw: number;
  padTop: number; padLeft: number; dh: number; dw: number;
  OH: number; OW: number;
}

/** One axis of an average pool: output i averages input [start[i], end[i]); its divisor factor is count[i]. */
export interface PoolWindows {
  start: Int32Array; end: Int32Array; count: Float64Array;
}

export interface Backend {
  readonly name: string;
  /** out = op(x), x a view with out's shape. */
  unary(op: UnaryOp, x: View, out: TypedArray): void;
  /** out = op(a, b); a and b already broadcast to out's shape (stride 0 on broadcast dims). */
  binary(op: BinaryOp, a: View, b: View, out: TypedArray): void;
  /** out = cond ? a : b, all three views of out's shape. */
  where(cond: View, a: View, b: View, out: TypedArray): void;
  /** dst[...] = src[...] for two views of one shape, converting between dtypes. */
  copy(src: View, dst: View): void;
  /** Reduce contiguous x, seen as [outer, n, inner] from xOffset, along n into out [outer, inner]. */
  reduce(op: ReduceOp, x: TypedArray, xOffset: number, outer: number, n: number, inner: number, out: TypedArray): void;
  gemm(args: GemmArgs): void;
  /** out[..i..] = x[..index[..i..] at dim..]; out has index's shape. */
  gather(x: View, dim: number, index: View, out: TypedArray): void;
  /** out[..index[..i..] at dim..] += src[..i..]; out is contiguous with shape outShape. */
  scatterAdd(out: TypedArray, outShape: readonly number[], dim: number, index: View, src: View): void;
  /**
   * Unfold images n0 … n0+nb−1 of x [N, C, H, W] into cols [C·kh·kw, nb·OH·OW] (row (c·kh + i)·kw + j,
   * column (n − n0)·OH·OW + oh·OW + ow); zero where the window reads padding. Conv2d is then one gemm.
   */
  im2col(x: View, g: Conv2dGeometry, n0: number, nb: number, cols: TypedArray): void;
  /**
   * The adjoint of im2col, image by image: sum every entry of image-major cols [nb, C·kh·kw, OH·OW] (image n − n0's
   * block laid out as im2col's with one image) into contiguous out [N, C, H, W], whose planes of images n0 … n0+nb−1
   * it writes in full (zero where no window reaches; they need not be cleared).
   */
  col2im(cols: TypedArray, g: Conv2dGeometry, n0: number, nb: number, out: TypedArray): void;
  /**
   * Max over each window of x [N, C, H, W] (padding skipped, NaN wins) into contiguous out [N, C, OH, OW];
   * indices gets the winner's flat position h·W + w in its plane, as PyTorch's return_indices.
   */
  maxPool2d(x: View, g: Conv2dGeometry, out: TypedArray, indices: Int32Array): void;
  /**
   * The gradient of maxPool2d: out[n, c, indices[n, c, oh, ow]] += g[n, c, oh, ow] for g [N, C, OH, OW] into contiguous
   * out [N, C, H, W], which it writes in full (zero where no window's maximum lies; out need not be cleared).
   */
  maxPool2dBackward(g: View, indices: Int32Array, H: number, W: number, out: TypedArray): void;
  /**
   * out[n, c, oh, ow] = Σ x[n, c, rows.start[oh]‥rows.end[oh], cols.start[ow]‥cols.end[ow]] / (rows.count[oh]·cols.count[ow])
   * for x [N, C, H, W] and contiguous out [N, C, OH, OW] (OH = rows.start.length, OW = cols.start.length).
   */
  avgPool2d(x: View, rows: PoolWindows, cols: PoolWindows, out: TypedArray): void;
  /** The adjoint of avgPool2d: spread g [N, C, OH, OW] back into contiguous, zero-filled out [N, C, H, W]. */
  avgPool2dBackward(g: View, rows: PoolWindows, cols: PoolWindows, H: number, W: number, out: TypedArray): void;
  /**
   * Optional fused kernel: direct convolution, for layers whose C·kh·kw is too small for im2col + gemm to pay:
   * out [N, O, OH, OW] (contiguous) = conv(x, w) + bias[o] for x [N, C, H, W], w [O, C, kh, kw] and bias [O] (or
   * null). False when it does not take these operands or this geometry (nothing written); it takes at most stride 1,
   * no padding, no dilation. Reference: conv2dDirect in src/backend/cpu/conv.ts.
   */
  conv2dDirect?(x: View, w: View, bias: View | null, g: Conv2dGeometry, out: TypedArray): boolean;
  /**
   * Optional fused kernel: conv2dDirect's weight gradient gw [O, C, kh, kw] = Σ over (n, oh, ow) of
   * gy[n, o, oh, ow] · x[n, c, oh + i, ow + j] for the output gradient gy [N, O, OH, OW], and, when gb is given,
   * its bias gradient gb [O] = Σ gy over (n, oh, ow). False when it does not take these operands (nothing written).
   */
  conv2dDirectWeightGrad?(x: View, gy: View, g: Conv2dGeometry, gw: TypedArray, gb: TypedArray | null): boolean;
  /**
   * Optional fused kernel: the whole convolution without groups, out [N, O, OH, OW] (contiguous) = conv(x, w) + bias[o]
   * for x [N, C, H, W], w [O, C, kh, kw] contiguous and bias [O] (or null), any stride, padding and dilation. False
   * when it does not take these operands or sizes (then out may be part-written). The reference is the
   * im2col + gemm composition in src/ops/conv.ts; conv2dInputGrad and conv2dWeightGrad likewise.
   */
  conv2d?(x: View, w: View, bias: View | null, g: Conv2dGeometry, out: TypedArray): boolean;
  /** Optional fused kernel: the input gradient out [N, C, H, W] (contiguous, written in full) of conv2d for the output gradient gy [N, O, OH, OW]. */
  conv2dInputGrad?(gy: View, w: View, g: Conv2dGeometry, out: TypedArray): boolean;
  /** Optional fused kernel: conv2d's weight gradient gw [O, C, kh, kw] and, when gb is given, its bias gradient gb [O] (as conv2dDirectWeightGrad). */
  conv2dWeightGrad?(x: View, gy: View, g: Conv2dGeometry, gw: TypedArray, gb: TypedArray | null): boolean;
  /** Per-channel mean and biased variance of x [N, C, S] (S: flattened spatial dims), accumulated in float64. */
  batchNormStats(x: View, mean: Float64Array, variance: Float64Array): void;
  /** out[n, c, s] = x[n, c, s]·scale[c] + shift[c] for x [N, C, S], out contiguous. */
  channelAffine(x: View, scale: Float64Array, shift: Float64Array, out: TypedArray): void;
  /**
   * Batch norm's input gradient from batch statistics, x and g [N, C, S], x̂ = (x − mean[c])·invStd[c]:
   * sums[c] = Σ g and sums[C + c] = Σ g·x̂ over (n, s); when out is given, out = scale[c]·(g − Σg/M − x̂·Σg·x̂/M), M = N·S.
   */
  batchNormBackward(x: View, g: View, mean: Float64Array, invStd: Float64Array, scale: Float64Array, sums: Float64Array, out: TypedArray | null): void;
  /**
   * Dataset batches stored as bytes: out[k·row + j] = table[src[rows[k]·row + j]] for k < rows.length, j < row
   * (rows already checked to lie in src). MNIST keeps its pixels as bytes and decodes each batch with this.
   */
  gatherRowsU8(src: Uint8Array, row: number, rows: Int32Array, table: Float32Array, out: Float32Array): void;
  /**
   * Optional: start gathering these rows in the background, for a gatherRowsU8 of the same arguments that follows
   * (the next batch of a DataLoader). src and table must not change until then. With `out`, the rows may be decoded
   * straight into it (nothing else may use it until then), and a gatherRowsU8 into the same out finds them there.
   * Returns false when the backend does not take the request; a later gatherRowsU8 of other rows just drops it.
   */
  prefetchRowsU8?(src: Uint8Array, row: number, rows: Int32Array, table: Float32Array, out?: Float32Array): boolean;
  /**
   * Optional fused kernel: the gradient of an activation from its output y and the incoming gradient g (views of
   * out's shape): sigmoid g·y·(1 − y), tanh g·(1 − y²). Returns false when it does not take these operands.
   */
  activationGrad?(op: 'sigmoid' | 'tanh', y: View, g: View, out: TypedArray): boolean;
  /**
   * Optional fused kernel: ReLU's gradient from its output, out = y > 0 ? g : 0, for views y and g of out's shape
   * (the reference is where(gt(y, 0), g, 0)). Returns false when it does not take these operands.
   */
  reluGrad?(y: View, g: View, out: TypedArray): boolean;
  /**
   * Optional fused kernel: binary cross-entropy terms −(y·max(ln p, −100) + (1 − y)·max(ln(1 − p), −100)) of
   * views p and y of out's shape. Returns the index (row-major) of the first p outside [0, 1], −1 when there is
   * none, or −2 when it does not take these operands (nothing written).
   */
  bceForward?(p: View, y: View, out: TypedArray): number;
  /** Optional fused kernel: BCE's input gradient g·(p − y) / max(p·(1 − p), 1e-12); false when it does not take these operands. */
  bceBackward?(p: View, y: View, g: View, out: TypedArray): boolean;
  /**
   * Optional fused kernel: softmax (or log-softmax when `log`) over the last dim of x, a view of out's shape, in
   * the reference's order (z = x − max, e = eᶻ, s = Σe; e/s or z − ln s). False when it does not take x.
   */
  softmaxLastDim?(x: View, log: boolean, out: TypedArray): boolean;
  /**
   * Optional: a zeroed array of `size` elements of `dtype` that lives in the backend's own memory, so that its kernels
   * take it without copying it in or out (the wasm backend: in its shared WebAssembly memory). Null when it cannot
   * (size, dtype, or a budget of live bytes: 256 MiB by default on wasm, `setWasmOptions({ residentBudget })`).
   * The array is garbage collected like any other: its memory is freed once the returned array object is
   * collected, so keep that object (a subarray or another view on its buffer does not keep the memory alive).
   * Frees happen between tasks, never inside a synchronous loop: allocate once and reuse (e.g. `compile`).
   * Any kernel accepts such arrays as operands and outputs, aliasing or overlapping each other as ordinary arrays may.
   */
  allocateResident?(dtype: DType, size: number): TypedArray | null;
  /**
   * Optional: one kernel call of a compiled plan (method and arguments as recorded), bound once for its replays:
   * a function that makes exactly that call, with the same results, and less work per call (wasm: arrays that live
   * in its memory, addresses worked out once). Null when the call cannot be bound; the plan then calls the method.
   */
  bind?(method: string, args: readonly unknown[]): (() => unknown) | null;
  /**
   * Optional: called when the backend becomes the current one (`setBackend`, or the default chosen at import). A
   * backend with worker threads starts them here, so that they are up by the time its first large op needs them
   * (a Node worker takes 55–70 ms to boot on the 2-core development VM, on its own core).
   */
  activate?(): void;
}

let current: Backend | null = null;
/** While a compile trace records: a wrapper of `current` that records every kernel call. */
let recorder: Backend | null = null;
const registry = new Map<string, Backend>();

export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
  if (!current) current = backend;
}

/** The backend that ops use now. */
export function backend(): Backend {
  if (recorder) return recorder;
  if (!current) throw new Error('nabla: no backend registered');
  return current;
}

/** Route kernel calls through `r` (a recording wrapper of the current backend) until called with null. */
export function setRecorder(r: Backend | null): void {
  recorder = r;
}

/** The backend in use, never the recorder (compile replays on it). */
export function activeBackend(): Backend {
  if (!current) throw new Error('nabla: no backend registered');
  return current;
}

/**
 * Whether an array lives in a backend's resident memory (`allocateResident`: on wasm the shared memory, which its
 * kernels read in place).
 */
export const isResident = (a: TypedArray): boolean => typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;

/** Whether b is the backend in use (false while none is chosen). */
export function isCurrentBackend(b: Backend): boolean {
  return current === b;
}

/** Choose the backend by name ('cpu' is the plain-TypeScript reference). */
export function setBackend(name: string): void {
  const b = registry.get(name);
  if (!b) throw new Error(`setBackend: unknown backend '${name}' (available: ${[...registry.keys()].join(', ')})`);
  noteUnsupported('setBackend()');
  current = b;
  b.activate?.();
}

export function getBackend(): string {
  return activeBackend().name;
}

export function listBackends(): string[] {
  return [...registry.keys()];
}
