/**
 * Warming the kernels up on a worker. V8 compiles a wasm function on its first call as baseline code (Liftoff), and
 * optimized (TurboFan) in the background once it has done enough work; until then the SIMD kernels run two to three
 * times slower, and the optimizing compiler (25–30 ms for each product kernel) competes for the two cores with the
 * first training steps. The compiled code belongs to the module, so it serves every thread and instance: the first
 * worker of the process runs the training kernels on scratch data of its own while the program is still loading
 * (MNIST's bytes, the model), and the first training steps find them optimized. That is the shared-memory build: the
 * pool's products, and every kernel of a compiled plan (its arrays live in that memory). The calling thread does
 * none of it.
 */
import { BINARY, G_SEQ, G_TILES, M_FULL, M_ROW, UNARY, describeGemm } from './layout.js';

/** A kernel call: an export of the module and its arguments (addresses and sizes). */
export type WarmupCall = [name: string, ...args: number[]];

/** What the worker does, on a memory laid out from `base`: fill the floats, write the ints, repeat the calls. */
export interface WarmupPlan {
  /** Byte address and float count of the float operands (filled with small nonzero values by the worker). */
  base: number;
  floats: number;
  /** Int32 values to write after the fill (byte address, values): A's zeros, the products' descriptors, row indices. */
  ints: [number, number[]][];
  calls: WarmupCall[];
  /** Rounds of the calls, and the most time (ms) the worker spends on them. */
  rounds: number;
  maxMs: number;
}

// the operands: A [64, 256], B [128, 256], C [64, 128], D [128, 256], a vector, then 64 row indices and a byte table;
// each followed by padding (kernels may read a few floats past a row); the two gemm descriptors after them
const M = 64, N = 128, K = 256, PAD = 16;
const SIZES = { a: M * K, b: N * K, c: M * N, d: N * K, v: 2 * N, idx: M, table: 256 };

/** Bytes a plan needs from its base (16-byte aligned). */
export const WARMUP_BYTES = (Object.values(SIZES).reduce((s, n) => s + n + PAD, 0) + 2 * 64) * 4;

/**
 * The warm-up of the training kernels with its operands in [base, base + WARMUP_BYTES) of a memory: both product
 * kernels (the dot kernel of x·Wᵀ, the broadcast kernel of δᵀ·x), the elementwise, loss, reduction, optimizer and
 * batch kernels of a classifier's step.
 *
 * V8 compiles a function optimized once it has run about 1.8 MB of baseline code (its tiering budget); the calls are
 * sized so that ten rounds use up every kernel's, and the compiling itself then goes on in the background.
 */
export function warmupPlan(base: number): WarmupPlan {
  const at: Record<keyof typeof SIZES, number> = { a: 0, b: 0, c: 0, d: 0, v: 0, idx: 0, table: 0 };
  let p = base;
  for (const [k, n] of Object.entries(SIZES) as [keyof typeof SIZES, number][]) { at[k] = p; p += (n + PAD) * 4; }
  const desc = p, d1 = new Int32Array(64), d2 = new Int32Array(64);
  describeGemm({ batch: 1, M, N, K }, at.a, K, false, 0, at.b, K, true, 0, at.c, 1, SIZES.a, SIZES.b, d1);
  describeGemm({ batch: 1, M: N, N: K, K: M }, at.c, N, true, 0, at.a, K, false, 0, at.d, 1, SIZES.c, SIZES.a, d2);
  // a launch number of its own for the kernels' per-launch memo (the backend counts real launches from 1)
  d1[G_SEQ] = -1;
  d2[G_SEQ] = -1;
  // A with zero blocks, so that the products' zero lists and listed loops are warmed up as well (gemm.ts): by runs of
  // 8 along its rows, the same in each group of 4 rows, 4 runs in 7 (the forward product's row groups skip those
  // vectors; in the weight gradient's B they are rows of a panel)
  const a = new Float32Array(SIZES.a);
  for (let i = 0; i < a.length; i++) a[i] = ((((i / K) >> 2) * 5 + ((i % K) >> 3) * 3) % 7 >= 3 ? 0 : ((i * 7919) % 1000) / 1000 + 0.5);
  const sig = UNARY.sigmoid!, n = N * N; // elementwise calls on B or D seen as [128, 128]
  return {
    base, floats: (at.idx - base) / 4, rounds: 10, maxMs: 100,
    ints: [[at.a, [...new Int32Array(a.buffer)]], [desc, [...d1]], [desc + 256, [...d2]], [at.idx, Array.from({ length: M }, (_, r) => r)]], // rows 0 … 63 (of C, or A's bytes)
    calls: [
      ['gemmTiles', desc, 0, d1[G_TILES]!],
      ['gemmTiles', desc + 256, 0, d2[G_TILES]!],
      ['transpose', at.a, M, K, K * 4, at.d, (M + 4) * 4],
      ['binary2d', BINARY.add!, at.b, M_FULL, at.v, M_ROW, at.d, N, N],
      ['unary', sig, at.d, at.b, n],
      ['bceForward', at.b, at.b, at.d, n],
      ['bceBackward', at.b, at.b, at.c, 1, at.d, n],
      ['activationGrad', sig, at.b, at.d, at.d, n],
      ['sumCols', at.d, 1, N, N, at.v, at.b],
      ['sumRows', at.d, N, N, at.v],
      ['softmaxRows', at.d, N, N, at.b, 0],
      ['sgd', at.b, at.d, 0, n, 1e-3, 0, 1, 0, 0, 0, 0],
      ['gatherRows', at.c, at.idx, 1, M, M, 1, N, at.d],
      ['gatherLookupU8', at.a, K, at.idx, M, at.table, at.d],
    ],
  };
}
