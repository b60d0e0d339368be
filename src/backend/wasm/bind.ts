/**
 * Bound kernel calls (Backend.bind) for compiled plans on the wasm backend: a recorded call whose arrays all live in
 * wasm memory, and which its wrapper (index.ts) would run in place, is worked out once (addresses, sizes, the
 * broadcast plan, the product's tiling), so that each replay is one call into wasm. Each case below mirrors its
 * wrapper's in-place path; the compile tests compare such replays with eager runs bit for bit.
 */
import type { DType, TypedArray } from '../../tensor/dtype.js';
import type { BinaryOp, GemmArgs, ReduceOp, UnaryOp, View } from '../backend.js';
import { isContiguousView } from '../cpu/elementwise.js';
import { copyArray } from './bytes.js';
import type { WasmExports } from './load.js';
import {
  BINARY, MAX_BYTES, UNARY, aSpan, at, bSpan, clash, describeGemm, dotAfterTranspose, f32, gatherIndexError, mode, planBinary, rowGather, rowGatherInWasm,
} from './layout.js';

/** What a bound call needs from the backend. */
export interface BindContext {
  /** The shared-memory build's exports (resident arrays live in its memory). */
  kx: WasmExports;
  state: { minElements: number; gemmMinFlops: number; threads: number };
  /** Whether an array lives in wasm memory. */
  inMem(x: TypedArray): boolean;
  allocateResident(dtype: DType, size: number): TypedArray | null;
  /** Run a described product: on the pool with `all`'s tiling when the backend shares it, else `one`'s. */
  runGemm(one: Int32Array, all: Int32Array, flops: number): void;
}

/**
 * The in-place call of `method` on these arguments, as the backend's wrapper (index.ts) would make it when all its
 * arrays live in memory; null when it would not (the wrapper then runs: copies, the reference, a transpose first…).
 */
export function prepareCall(ctx: BindContext, method: string, args: readonly unknown[]): (() => unknown) | null {
  const { kx, state, inMem } = ctx;
  const mem = (...xs: TypedArray[]): boolean => xs.every((x) => f32(x) && inMem(x) && x.length * 16 <= MAX_BYTES);
  const dense = (...vs: View[]): boolean => vs.every((v) => isContiguousView(v));
  switch (method) {
    case 'unary': {
      const [op, x, out] = args as [UnaryOp, View, TypedArray];
      const code = UNARY[op], n = out.length;
      if (code === undefined || n < state.minElements || !mem(x.data, out) || !dense(x)) return null;
      const px = at(x.data, x.offset), po = at(out, 0);
      if (clash(po, n * 4, px, n * 4, true)) return null;
      return () => kx.unary(code, px, po, n);
    }
    case 'binary': {
      const [op, a, b, out] = args as [BinaryOp, View, View, TypedArray];
      const code = BINARY[op], n = out.length;
      if (code === undefined || n < state.minElements || !mem(a.data, b.data, out)) return null;
      const plan = planBinary(a.shape, a, b);
      if (!plan || plan.sizes.length > 2) return null;
      const pa = at(a.data, a.offset), pb = at(b.data, b.offset), po = at(out, 0);
      if (clash(po, n * 4, pa, plan.aLen * 4, plan.aLen === n) || clash(po, n * 4, pb, plan.bLen * 4, plan.bLen === n)) return null;
      const g = plan.sizes.length, R = g === 2 ? plan.sizes[0]! : 1, C = plan.sizes[g - 1] ?? 1;
      const am = mode(g, plan.sa), bm = mode(g, plan.sb);
      return () => kx.binary2d(code, pa, am, pb, bm, po, R, C);
    }
    case 'activationGrad': {
      const [op, y, g, out] = args as ['sigmoid' | 'tanh', View, View, TypedArray];
      const n = out.length;
      if (n < state.minElements || !mem(y.data, g.data, out) || !dense(y, g)) return null;
      const py = at(y.data, y.offset), pg = at(g.data, g.offset), po = at(out, 0);
      if (clash(po, n * 4, py, n * 4, true) || clash(po, n * 4, pg, n * 4, true)) return null;
      return () => (kx.activationGrad(UNARY[op]!, py, pg, po, n), true);
    }
    case 'bceForward': {
      const [p, y, out] = args as [View, View, TypedArray];
      const n = out.length;
      if (n < state.minElements || !mem(p.data, y.data, out) || !dense(p, y)) return null;
      const pp = at(p.data, p.offset), py = at(y.data, y.offset), po = at(out, 0);
      if (clash(po, n * 4, pp, n * 4, false) || clash(po, n * 4, py, n * 4, false)) return null;
      return () => kx.bceForward(pp, py, po, n);
    }
    case 'bceBackward': {
      const [p, y, g, out] = args as [View, View, View, TypedArray];
      const n = out.length, gScalar = g.strides.every((st, k) => st === 0 || g.shape[k] === 1), ng = gScalar ? 1 : n;
      if (n < state.minElements || !mem(p.data, y.data, g.data, out) || !dense(p, y) || !(gScalar || dense(g))) return null;
      const pp = at(p.data, p.offset), py = at(y.data, y.offset), pg = at(g.data, g.offset), po = at(out, 0);
      if (clash(po, n * 4, pp, n * 4, true) || clash(po, n * 4, py, n * 4, true) || clash(po, n * 4, pg, ng * 4, !gScalar)) return null;
      return () => (kx.bceBackward(pp, py, pg, gScalar ? 1 : 0, po, n), true);
    }
    case 'reduce': {
      const [op, x, xOffset, outer, n, inner, out] = args as [ReduceOp, TypedArray, number, number, number, number, TypedArray];
      const total = outer * n * inner, m = outer * inner;
      if (op !== 'sum' || total < state.minElements || !mem(x, out)) return null;
      const px = at(x, xOffset), po = at(out, 0);
      if (clash(po, m * 4, px, total * 4, false)) return null;
      if (inner === 1) return () => kx.sumRows(px, outer, n, po);
      const scratch = ctx.allocateResident('float32', Math.ceil(inner / 4) * 8); // the kernel's column sums, kept with the call
      if (!scratch) return null;
      return () => kx.sumCols(px, outer, n, inner, po, at(scratch, 0));
    }
    case 'gemm': {
      const [g] = args as [GemmArgs];
      const { batch, M, N, K, transA, transB } = g, flops = 2 * batch * M * N * K;
      if (K === 0 || flops < state.gemmMinFlops || !mem(g.a, g.b, g.c)) return null;
      if (dotAfterTranspose(g) || (transA && transB)) return null; // operands transposed first
      const aLen = aSpan(g), bLen = bSpan(g), cLen = batch * M * N, pa = at(g.a, g.aOffset), pb = at(g.b, g.bOffset), pc = at(g.c, 0);
      if (cLen === 0 || clash(pc, cLen * 4, pa, aLen * 4, false) || clash(pc, cLen * 4, pb, bLen * 4, false)) return null;
      const describe = (threads: number): Int32Array =>
        describeGemm(g, pa, g.lda, transA, g.aBatchStride, pb, g.ldb, transB, g.bBatchStride, pc, threads, aLen, bLen);
      const one = describe(1), all = describe(state.threads);
      return () => ctx.runGemm(one, all, flops);
    }
    case 'gather': {
      // the wrapper's wasm path (rows picked along dim of a contiguous x), with index and out in memory; x is read in
      // place when it is in memory, else copied on each call into memory kept with the call (it is small: see index.ts)
      const [x, dim, index, out] = args as [View, number, View, TypedArray];
      const idx = index.data, r = rowGather(x, dim, index);
      if (!r || !(idx instanceof Int32Array) || !inMem(idx) || !mem(out) || !f32(x.data)) return null;
      const { outer, inner, J, size, is, n, xLen } = r;
      if (n === 0 || n !== out.length || !rowGatherInWasm(r, inMem(x.data), state.minElements)) return null;
      const copy = inMem(x.data) ? null : ctx.allocateResident('float32', xLen);
      if (!inMem(x.data) && !copy) return null;
      const px = copy ? at(copy, 0) : at(x.data, x.offset), pi = at(idx, index.offset), po = at(out, 0);
      if (clash(po, n * 4, px, xLen * 4, false) || clash(po, n * 4, pi, J * is * 4, false)) return null;
      const xd = x.data as Float32Array, x0 = x.offset;
      return () => {
        if (copy) copyArray(copy, xd.subarray(x0, x0 + xLen));
        const bad = kx.gatherRows(px, pi, is, J, size, outer, inner, po);
        if (bad >= 0) throw gatherIndexError(idx[index.offset + bad * is]!, dim, size);
      };
    }
    default:
      return null;
  }
}
