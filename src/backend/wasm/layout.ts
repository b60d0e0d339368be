/**
 * How the wasm kernels see their operands: op codes, the gemm descriptor (assembly/gemm.ts) and its tiling, byte
 * addresses of arrays in wasm memory, overlap rules for computing in place, and the merged dims of broadcast binary
 * ops. Shared by the backend's wrappers (index.ts) and its bound calls (bind.ts).
 */
import type { TypedArray } from '../../tensor/dtype.js';
import type { BinaryOp, GemmArgs, UnaryOp, View } from '../backend.js';
import { isContiguousView } from '../cpu/elementwise.js';

export const UNARY: Partial<Record<UnaryOp, number>> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, sigmoid: 5, tanh: 6, relu: 7, reciprocal: 8, floor: 9, ceil: 10, round: 11,
};
export const BINARY: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };
export const M_FULL = 0, M_ROW = 1, M_COL = 2, M_SCALAR = 3;
// gemm descriptor slots (assembly/gemm.ts)
export const G_A = 0, G_ARS = 1, G_ACS = 2, G_ABS = 3, G_B = 4, G_BRS = 5, G_BCS = 6, G_BBS = 7, G_C = 8, G_LDC = 9, G_CBS = 10;
export const G_M = 11, G_N = 12, G_K = 13, G_NTI = 16, G_NTJ = 17;
/** Slot 14 (unused by the kernel) holds the number of tiles in a descriptor made by describeGemm. */
export const G_TILES = 14, G_SEQ = 15;
/** B to transpose tile by tile (its address, row stride and batch stride in bytes; address 0: none), assembly/gemm.ts. */
export const G_TB = 18, G_TBRS = 19, G_TBBS = 20, G_SLOTS = 21;
/** Calls needing more arena than this run in TypeScript (wasm32 memory tops out at 4 GiB). */
export const MAX_BYTES = 1 << 30;

export const f32 = (x: TypedArray): x is Float32Array => x instanceof Float32Array;
/** Byte address of element `offset` of an array that lives in wasm memory. */
export const at = (x: TypedArray, offset: number): number => x.byteOffset + offset * x.BYTES_PER_ELEMENT;
/**
 * Whether an output [po, po + ob) must not be written in place because an input [pi, pi + ib) overlaps it, unless
 * it is exactly that input and `same` (the kernel reads that input elementwise before writing each element).
 */
export const clash = (po: number, ob: number, pi: number, ib: number, same: boolean): boolean =>
  pi < po + ob && po < pi + ib && !(same && pi === po && ib === ob);

/** An operand of a broadcast binary op as the kernel reads it: its dense data and, per merged dim, a stride. */
export interface Plan { sizes: number[]; sa: number[]; sb: number[]; aLen: number; bLen: number }

/**
 * Merge the dims of a broadcast binary op into as few as possible, each operand either dense (row-major,
 * no gaps) or broadcast (stride 0) along each merged dim. Null when an operand is neither (a transposed
 * view, a slice with gaps): the reference handles those.
 */
export function planBinary(shape: readonly number[], a: View, b: View): Plan | null {
  const aLen = denseLength(shape, a), bLen = denseLength(shape, b);
  if (aLen < 0 || bLen < 0) return null;
  const sizes: number[] = [], sa: number[] = [], sb: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const da = a.strides[d]! === 0 ? 0 : 1, db = b.strides[d]! === 0 ? 0 : 1;
    const k = sizes.length - 1;
    if (k >= 0 && (sa[k]! === 0) === (da === 0) && (sb[k]! === 0) === (db === 0)) {
      sizes[k]! *= n;
      sa[k] = a.strides[d]!;
      sb[k] = b.strides[d]!;
    } else {
      sizes.push(n);
      sa.push(a.strides[d]!);
      sb.push(b.strides[d]!);
    }
  }
  return { sizes, sa, sb, aLen, bLen };
}

/**
 * Row length (floats) for an operand transposed into wasm memory: n, or n + 4 when rows of n floats would be a
 * multiple of 1 KiB apart (transposing with both strides multiples of 4 KiB is ~9× slower: loads falsely wait on
 * stores to the same address modulo 4 KiB).
 */
export const paddedLd = (n: number): number => ((n * 4) % 1024 === 0 ? n + 4 : n);

/** Elements of v's dense data when its non-broadcast dims are row-major without gaps, else −1. */
export function denseLength(shape: readonly number[], v: View): number {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!, s = v.strides[d]!;
    if (n === 1 || s === 0) continue;
    if (s !== expected) return -1;
    expected *= n;
  }
  return expected;
}

/** Kernel mode of an operand from its strides on the (one or two) merged dims. */
export function mode(g: number, s: readonly number[]): number {
  if (g <= 1) return s[0] === 0 ? M_SCALAR : M_FULL;
  const r = s[0] !== 0, c = s[1] !== 0;
  return r && c ? M_FULL : c ? M_ROW : r ? M_COL : M_SCALAR;
}

/** Elements of A a product reads from its offset (batches, rows and the last row's columns); 0 when it reads none. */
export const aSpan = (g: GemmArgs): number => (g.batch === 0 || g.M === 0 || g.K === 0 ? 0
  : g.aBatchStride * (g.batch - 1) + (g.transA ? (g.K - 1) * g.lda + g.M : (g.M - 1) * g.lda + g.K));
/** Elements of B a product reads from its offset; 0 when it reads none. */
export const bSpan = (g: GemmArgs): number => (g.batch === 0 || g.N === 0 || g.K === 0 ? 0
  : g.bBatchStride * (g.batch - 1) + (g.transB ? (g.N - 1) * g.ldb + g.K : (g.K - 1) * g.ldb + g.N));
/**
 * Whether the gemm wrapper first transposes operands into the dot kernel's layout (NT), the faster kernel once k is
 * long: O(MK + KN) against the product's O(MNK).
 */
export const dotAfterTranspose = (g: GemmArgs): boolean => !(g.transB && !g.transA) && g.K >= 128 && g.M >= 8 && g.N >= 8;

/**
 * The descriptor of a product (operands at their addresses, in the kernel's layout: transB is the dot kernel) cut
 * into tiles for `threads` threads, written at slot o of d (a fresh array by default); slot G_TILES holds the number of
 * tiles. Tiles are cache-sized (the dot kernel's
 * column block of B ≤ 256 KiB, the broadcast kernel's row block ≤ 128 rows), then cut further so that every thread
 * gets a few; the kernel sizes blocks evenly (gemmTiles). The pool runs them with affinity (pool.ts): thread t
 * computes the t-th run of tiles, which are ordered by row block, then column block. When C is the largest operand
 * (a weight's gradient, Xᵀ·δ) it is cut into row blocks first, so each thread writes whole rows of it, the same rows
 * every step, and the optimizer's step on that weight, split the same way (sgdStep, adamStep), finds them in its own
 * core's cache. Likewise when B is the largest operand of a dot-kernel product and A is small enough to stay in each
 * core's L2 (a layer's forward product X·Wᵀ, X a batch of activations), B is cut into column blocks first: each
 * thread reads only its own rows of the weight, the rows it later writes in the gradient and updates in the step, so
 * they stay in its core's cache through the whole training step. (The MLP's first layer: 8 of 8 paired runs faster,
 * the step 26 µs shorter, mostly in the optimizer step, which no longer fetches half the weight from the other core.)
 */
export function describeGemm(
  g: Pick<GemmArgs, 'batch' | 'M' | 'N' | 'K'>, pa: number, lda: number, transA: boolean, abs: number, pb: number, ldb: number, transB: boolean, bbs: number,
  pc: number, threads: number, aLen: number, bLen: number, d: Int32Array = new Int32Array(G_SLOTS), o = 0,
): Int32Array {
  const { batch, M, N, K } = g, cLen = batch * M * N;
  const dot = transB;
  const unitRows = Math.ceil(M / 4), unitCols = Math.ceil(N / (dot ? 2 : 8));
  let nti = dot ? 1 : Math.ceil(M / 128);
  let ntj = dot ? Math.ceil(N / Math.max(2, Math.floor(65536 / Math.min(K, 1024)))) : 1;
  const want = threads > 1 ? 4 * threads : 1;
  const rowsFirst = !dot && cLen >= aLen && cLen >= bLen;
  const colsFirst = dot && batch === 1 && bLen > aLen && bLen >= cLen && aLen * 4 <= 256 * 1024;
  while (batch * nti * ntj < want) {
    // one more block along the dimension whose blocks are longer, while it has register tiles to spare
    if (rowsFirst && nti < unitRows) nti++;
    else if (colsFirst && ntj < unitCols) ntj++;
    else if ((N / ntj >= M / nti || nti >= unitRows) && ntj < unitCols) ntj++;
    else if (nti < unitRows) nti++;
    else break;
  }
  nti = Math.min(nti, unitRows); ntj = Math.min(ntj, unitCols);
  d[o + G_A] = pa; d[o + G_ARS] = transA ? 4 : lda * 4; d[o + G_ACS] = transA ? lda * 4 : 4; d[o + G_ABS] = abs * 4;
  d[o + G_B] = pb; d[o + G_BRS] = transB ? 4 : ldb * 4; d[o + G_BCS] = transB ? ldb * 4 : 4; d[o + G_BBS] = bbs * 4;
  d[o + G_C] = pc; d[o + G_LDC] = N * 4; d[o + G_CBS] = M * N * 4;
  d[o + G_M] = M; d[o + G_N] = N; d[o + G_K] = K; d[o + G_NTI] = nti; d[o + G_NTJ] = ntj; d[o + G_TILES] = batch * nti * ntj;
  d[o + G_TB] = 0;
  return d;
}

/**
 * A gather that picks whole rows along dim of contiguous x (indexSelect's pattern, one-hot rows of an identity: the
 * index varies along dim only): its loop sizes (n elements out, xLen read from x, J indices is apart), or null.
 */
export function rowGather(x: View, dim: number, index: View): { outer: number; inner: number; J: number; size: number; is: number; n: number; xLen: number } | null {
  const nd = x.shape.length;
  if (!isContiguousView(x) || index.shape.length !== nd) return null;
  let outer = 1, inner = 1;
  for (let k = 0; k < nd; k++) {
    if (k !== dim && (index.shape[k] !== x.shape[k] || (index.strides[k] !== 0 && index.shape[k] !== 1))) return null;
    if (k < dim) outer *= x.shape[k]!;
    if (k > dim) inner *= x.shape[k]!;
  }
  const J = index.shape[dim]!, size = x.shape[dim]!;
  return { outer, inner, J, size, is: index.strides[dim]!, n: outer * J * inner, xLen: outer * size * inner };
}

/**
 * Whether a row gather runs in wasm: enough elements, and x in memory or not much larger than out (a table it would
 * be a waste to copy into memory for a few rows).
 */
export const rowGatherInWasm = (r: { J: number; n: number; xLen: number }, xInMemory: boolean, minElements: number): boolean =>
  r.n >= minElements && (xInMemory || r.xLen <= 4 * r.n) && 4 * (r.xLen + r.J + r.n) <= MAX_BYTES;

/** The error of a gather index out of range (the same from every path). */
export const gatherIndexError = (v: number, dim: number, size: number): Error =>
  new Error(`gather: index ${v} is out of range for dim ${dim} of size ${size}`);
