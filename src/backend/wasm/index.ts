/**
 * The wasm backend: float32 kernels in WebAssembly SIMD128 (built from assembly/ by `npm install`),
 * matrix products shared with a pool of worker threads. It is the reference backend with the float32
 * kernels replaced, so every other dtype, every op it lacks and any kernel added to the interface later
 * runs the reference code. Tensors keep their own arrays: each call copies its operands into a scratch
 * arena in wasm memory and the result back out, except for operands that already live there (resident arrays,
 * `allocateResident`, resident.ts), which the kernels take in place. Tiny operands stay in TypeScript, where a
 * call is cheaper.
 */
import { availableParallelism, cpus } from 'node:os';
import type { TypedArray } from '../../tensor/dtype.js';
import { numel } from '../../tensor/shape.js';
import { type Backend, type BinaryOp, type GemmArgs, type ReduceOp, type UnaryOp, type View, isCurrentBackend } from '../backend.js';
import { cpuBackend } from '../cpu/index.js';
import { isContiguousView } from '../cpu/elementwise.js';
import type { AdamStepArgs, SgdStepArgs } from '../../optim/fused.js';
import { copyArray } from './bytes.js';
import { Arena, DESC_OFFSET, MAX_THREADS, SCRATCH_OFFSET, Space, THREAD_BYTES } from './arena.js';
import { type WasmExports, loadKernels } from './load.js';
import { BG_DESC_OFFSET, BG_GATHER_U8, JOB_ADAM, JOB_GEMM, JOB_SGD, OPT_DESC_OFFSET, Pool, type PoolOptions } from './pool.js';
import { DEFAULT_RESIDENT_BUDGET, ResidentHeap, residentAllocator } from './resident.js';
import {
  BINARY, G_NTI, G_SEQ, G_TB, G_TBBS, G_TBRS, G_TILES, MAX_BYTES, UNARY, aSpan, at, bSpan, clash, describeGemm, dotAfterTranspose, f32, gatherIndexError, mode, paddedLd, planBinary,
  rowGather, rowGatherInWasm,
} from './layout.js';
import { prepareCall } from './bind.js';
import { WARMUP_BYTES, warmupPlan } from './warmup.js';

const cpu = cpuBackend;

/** Settings of the wasm backend; each is optional in `setWasmOptions`. */
export interface WasmOptions {
  /** Threads for matrix products, the calling thread included (default: the CPUs, or NABLA_NUM_THREADS). */
  threads: number;
  /** Elementwise ops and reductions on fewer elements run in TypeScript. */
  minElements: number;
  /** Products with less work (2·M·N·K) run in TypeScript. */
  gemmMinFlops: number;
  /** Products with at least this much work (2·M·N·K) are shared with the pool. */
  gemmParallelFlops: number;
  /** Optimizer steps (SGD, Adam) on at least this many elements of one parameter are shared with the pool. */
  optimizerParallelElements: number;
  /**
   * The pool steps aside (products run on the calling thread) while the machine is oversubscribed (load average
   * above CPUs + 1) or while workers keep the calling thread waiting. Default true.
   */
  yieldWhenBusy: boolean;
  /**
   * The first worker of the process runs the training kernels on scratch data before its first job, so that V8 has
   * compiled them optimized by the first training steps (warmup.ts). Read when the workers start. Default true.
   */
  warmup: boolean;
  /** Bytes of resident arrays (`allocateResident`) alive at once; past it allocateResident returns null. Default 256 MiB. */
  residentBudget: number;
}

/**
 * Atomics.load iterations a worker spins after a job before it sleeps: ≈ 20–60 µs here, about the gap between the
 * products of a small training step. Spinning ten times longer kept the second core busy through the whole MLP step,
 * where V8's own threads need it: first epoch 0.78–0.88 s against 0.71–0.75 s, paired runs.
 */
const WORKER_SPIN = 20000;

function createWasmBackend(): {
  backend: Backend & FusedKernels; info: () => WasmInfo; setOptions: (o: Partial<WasmOptions>) => void; timeProducts: (on: boolean) => void;
} | { error: string } {
  const loaded = loadKernels();
  if (!loaded.plain) return { error: loaded.error ?? 'unknown error' };
  const ex: WasmExports = loaded.plain.exports;
  const arena = new Arena(new Space(loaded.plain.memory), ex.heapBase());
  ex.setScratch(SCRATCH_OFFSET);
  const ncpu = availableCpus();
  const envThreads = Number(process.env.NABLA_NUM_THREADS);
  const state: WasmOptions = {
    threads: Math.min(MAX_THREADS, Number.isInteger(envThreads) && envThreads >= 1 ? envThreads : ncpu),
    minElements: 64,
    gemmMinFlops: 8192,
    gemmParallelFlops: 1 << 21,
    optimizerParallelElements: 1 << 15,
    yieldWhenBusy: true,
    warmup: true,
    residentBudget: DEFAULT_RESIDENT_BUDGET,
  };
  const sh = loaded.shared;
  // resident arrays live in the shared memory (its views survive a grow), in a heap beside its scratch arena
  const space = sh ? new Space(sh.memory) : null;
  const heap = space ? new ResidentHeap(space) : null;
  const shArena = sh ? new Arena(space!, sh.exports.heapBase(), (s, e) => heap!.addRegion(s, e)) : null;
  sh?.exports.setScratch(SCRATCH_OFFSET);
  /** Set once a resident array has been handed out: until then no call looks for operands in memory. */
  let residents = false;
  /** Whether x lives in the shared memory (kernels take it in place). */
  const inMem = (x: TypedArray): boolean => residents && space!.holds(x.buffer);
  const allocateResident = heap && sh
    ? residentAllocator(heap, space!, (p, n) => sh.exports.zeroBytes(p, n), () => state.residentBudget, () => { residents = true; })
    : null;
  /** Address of x[offset, offset + n) for a kernel: x itself when in memory, else a copy in the arena. */
  const input = (ar: Arena, x: Float32Array, offset: number, n: number): number => (inMem(x) ? at(x, offset) : ar.put(x, offset, n));
  /** Deliver n floats computed at po into out: nothing when po is out itself, else a copy. */
  const deliver = (ar: Arena, po: number, n: number, out: Float32Array, outOffset = 0): void => {
    if (!inMem(out)) ar.get(po, n, out, outOffset);
    else if (at(out, outOffset) !== po) sh!.exports.copyBytes(at(out, outOffset), po, n * 4);
  };
  let pool: Pool | null = null;
  /** The pool, made on first use; null on one thread or without the shared build. */
  const workers = (): Pool | null => (pool ??= makePool());
  const makePool = (): Pool | null =>
    sh && state.threads > 1
      ? new Pool(sh.memory, sh.module, (kind, c) => {
        if (kind === JOB_GEMM) sh.exports.gemmTiles(DESC_OFFSET, c, c + 1);
        else if (kind === JOB_SGD) sh.exports.sgdPart(OPT_DESC_OFFSET, c);
        else if (kind === JOB_ADAM) sh.exports.adamPart(OPT_DESC_OFFSET, c);
      }, { workers: state.threads - 1, spin: WORKER_SPIN, cpus: ncpu, yieldWhenBusy: () => state.yieldWhenBusy, warmup: warmup() })
      : null;
  /** The warm-up for the first pool of the process (the optimized code then serves every later one), unless turned off. */
  let warmedUp = false;
  const warmup = (): PoolOptions['warmup'] => {
    if (!state.warmup || warmedUp || !sh) return null;
    warmedUp = true;
    const base = Math.max(SCRATCH_OFFSET + THREAD_BYTES, Math.ceil(sh.exports.heapBase() / 16) * 16);
    return { plan: warmupPlan(base), pages: Math.max(16, Math.ceil((base + WARMUP_BYTES) / 65536)), scratch: SCRATCH_OFFSET };
  };

  // ---------------------------------------------------------------- batches gathered ahead

  /**
   * The rows a worker gathers ahead (prefetchRowsU8) and where: `staging` holds the decoded rows (unless they go
   * straight into the caller's `out`), then the table, then the row indices. Only one request is out at a time.
   */
  let prefetched: { src: Uint8Array; row: number; count: number; table: Float32Array; pool: Pool; out: Float32Array | null } | null = null;
  /** The staging block, as floats and as ints, and the task's descriptor (views made once, with the block). */
  let staging: { f32: Float32Array; i32: Int32Array; desc: Int32Array } | null = null;
  let prefetchesDelivered = 0, prefetchesMissed = 0;

  /**
   * Ask a worker to gather and decode rows (as gatherRowsU8 would) while the calling thread goes on: it does so after
   * its part of the next parallel job, in the part of a training step that runs on the calling thread alone. A later
   * gatherRowsU8 of the same rows copies the result (10–25 µs for an MNIST batch, against 36–90 µs to gather it on the
   * calling thread), or finds it in place when `out` (in memory) was given and is its output too: MNIST's next reused
   * buffer. Only for bytes in memory (MNIST's pixels) and with workers; src and table must not change until then.
   */
  function prefetchRowsU8(src: Uint8Array, row: number, rows: Int32Array, table: Float32Array, out?: Float32Array): boolean {
    if (prefetched) { prefetched.pool.cancel(); prefetched = null; }
    const n = rows.length * row;
    if (!sh || !allocateResident || state.threads < 2 || !inMem(src) || row === 0 || rows.length === 0 || table.length < 256 || n < state.minElements) return false;
    const pool = workers();
    if (!pool) return false;
    const need = n + 256 + rows.length;
    if (!staging || staging.f32.length < need) {
      staging = null; // the old block is garbage: it is freed when collected
      const f = allocateResident('float32', need) as Float32Array | null;
      if (!f) return false;
      staging = { f32: f, i32: new Int32Array(f.buffer, f.byteOffset, f.length), desc: new Int32Array(f.buffer, BG_DESC_OFFSET, 7) };
    }
    // the decoded rows at 0, the table at n, the row indices at n + 256 (elements of the block)
    const { f32: f, i32, desc: d } = staging, base = at(f, 0);
    // decoded straight into out when it lives in memory (the dataset's next reused buffer)
    const into = out && out.length >= n && inMem(out) ? out : null;
    f.set(table.subarray(0, 256), n);
    i32.set(rows, n + 256);
    d[0] = BG_GATHER_U8; d[1] = at(src, 0); d[2] = row; d[3] = base + (n + 256) * 4; d[4] = rows.length; d[5] = base + n * 4; d[6] = into ? at(into, 0) : base;
    if (!pool.post()) return false;
    prefetched = { src, row, count: rows.length, table, pool, out: into };
    return true;
  }

  /** Deliver the prefetched rows into out (already there when decoded into it) when the request is the same (true); else withdraw it (false). */
  function takePrefetched(src: Uint8Array, row: number, rows: Int32Array, table: Float32Array, out: Float32Array): boolean {
    const p = prefetched!, n = rows.length * row, { f32: f, i32 } = staging!;
    prefetched = null;
    // the same request: the row indices compared with those staged (which the worker only reads)
    let same = p.src === src && p.row === row && p.table === table && p.count === rows.length && out.length >= n;
    for (let k = 0; same && k < rows.length; k++) same = i32[n + 256 + k] === rows[k];
    if (!p.pool.collect() || !same) { prefetchesMissed++; return false; }
    prefetchesDelivered++;
    if (p.out === out) return true;
    const from = p.out ?? f;
    if (inMem(out)) sh!.exports.copyBytes(at(out, 0), at(from, 0), n * 4);
    else copyArray(out.length === n ? out : out.subarray(0, n), from.subarray(0, n));
    return true;
  }

  // ---------------------------------------------------------------- gemm

  /**
   * Products timed while `timeProducts` is on (benchmarks' split of a step): calls and milliseconds (−0: a field that
   * will hold fractions starts as one, or V8 changes the object's map mid-run and deoptimizes its readers; see pool.ts).
   */
  const timing = { on: false, calls: 0, ms: -0 };

  function gemm(g: GemmArgs): void {
    if (!timing.on) { gemmUntimed(g); return; }
    const t = performance.now();
    gemmUntimed(g);
    timing.ms += performance.now() - t;
    timing.calls++;
  }

  function gemmUntimed(g: GemmArgs): void {
    const { batch, M, N, K } = g;
    const flops = 2 * batch * M * N * K;
    const aLen = aSpan(g), bLen = bSpan(g), cLen = batch * M * N;
    if (!(f32(g.a) && f32(g.b) && f32(g.c)) || flops < state.gemmMinFlops || 4 * (aLen + bLen + 2 * cLen) > MAX_BYTES) {
      cpu.gemm(g);
      return;
    }
    if (K === 0) {
      g.c.fill(0, 0, cLen);
      return;
    }
    const pool = workers(), parallel = pool !== null && flops >= state.gemmParallelFlops && pool.useful();
    const shared = parallel || inMem(g.a) || inMem(g.b) || inMem(g.c);
    const ar = shared ? shArena! : arena, kx = shared ? sh!.exports : ex;
    ar.reset();
    let pa = input(ar, g.a, g.aOffset, aLen), lda = g.lda, transA = g.transA, abs = g.aBatchStride;
    let pb = input(ar, g.b, g.bOffset, bLen), ldb = g.ldb, transB = g.transB, bbs = g.bBatchStride;
    // C in place when it lives in memory clear of A and B
    let pc = inMem(g.c) ? at(g.c, 0) : -1;
    if (pc >= 0 && (clash(pc, cLen * 4, pa, aLen * 4, false) || clash(pc, cLen * 4, pb, bLen * 4, false))) pc = -1;
    /** B as it came (row-major), to be transposed into the dot kernel's layout below: address, strides in bytes. */
    let tb = -1, tbrs = 0, tbbs = 0;
    if (dotAfterTranspose(g)) {
      // the operands into the dot kernel's layout in wasm memory (B once the tiling is known, below)
      if (!transB) {
        const nb = bbs === 0 ? 1 : batch, ld = paddedLd(K);
        tb = pb; tbrs = ldb * 4; tbbs = bbs * 4;
        pb = ar.alloc(nb * N * ld * 4); ldb = ld; transB = true; bbs = bbs === 0 ? 0 : N * ld;
      }
      if (transA) {
        const na = abs === 0 ? 1 : batch, ld = paddedLd(K), t = ar.alloc(na * M * ld * 4);
        for (let i = 0; i < na; i++) kx.transpose(pa + i * abs * 4, K, M, lda * 4, t + i * M * ld * 4, ld * 4);
        pa = t; lda = ld; transA = false; abs = abs === 0 ? 0 : M * ld;
      }
    } else if (transA && transB) {
      // Aᵀ·Bᵀ with a short k: transpose B once in wasm memory, then the broadcast kernel (TN)
      const nb = bbs === 0 ? 1 : batch, ld = paddedLd(N), t = ar.alloc(nb * K * ld * 4);
      for (let i = 0; i < nb; i++) kx.transpose(pb + i * bbs * 4, N, K, ldb * 4, t + i * K * ld * 4, ld * 4);
      pb = t; ldb = ld; transB = false; bbs = bbs === 0 ? 0 : K * ld;
    }
    if (pc < 0) pc = ar.alloc(cLen * 4);
    // tiles (layout.ts, describeGemm), written straight into the descriptor slots, run by the pool with affinity
    const d = describeGemm(g, pa, lda, transA, abs, pb, ldb, transB, bbs, pc, parallel ? pool!.size + 1 : 1, aLen, bLen, ar.i32, DESC_OFFSET >> 2);
    if (tb >= 0) {
      // B's transpose done by the tiles, each for its own columns (on two threads the worker then reads rows it wrote
      // itself, not rows the calling thread wrote: 64x784x100 through matmul ≈ 30 µs shorter), when every column
      // block belongs to one tile: one row block, and a B of its own per batch; else here, first
      const o = DESC_OFFSET >> 2;
      if (d[o + G_NTI] === 1 && (tbbs !== 0 || batch === 1)) { d[o + G_TB] = tb; d[o + G_TBRS] = tbrs; d[o + G_TBBS] = tbbs; }
      else for (let i = 0; i < (tbbs === 0 ? 1 : batch); i++) kx.transpose(tb + i * tbbs, K, N, tbrs, pb + i * bbs * 4, ldb * 4);
    }
    launchGemm(kx, ar.i32, parallel);
    deliver(ar, pc, cLen, g.c);
  }

  /** Products launched so far (the descriptor's G_SEQ). */
  let launches = 0;

  /** Run the product described at DESC_OFFSET of memory `i32`: on the pool, or on the calling thread with kx. */
  function launchGemm(kx: WasmExports, i32: Int32Array, parallel: boolean): void {
    const tiles = i32[(DESC_OFFSET >> 2) + G_TILES]!;
    i32[(DESC_OFFSET >> 2) + G_SEQ] = launches = (launches + 1) | 0; // tells the kernels' per-thread memos apart
    if (parallel) pool!.run(JOB_GEMM, tiles, true);
    else kx.gemmTiles(DESC_OFFSET, 0, tiles);
  }

  /** A bound product (bind.ts): its descriptor for one thread and for the pool, chosen as the wrapper would. */
  function runGemm(one: Int32Array, all: Int32Array, flops: number): void {
    const t = timing.on ? performance.now() : 0;
    const pool = workers(), parallel = pool !== null && flops >= state.gemmParallelFlops && pool.useful();
    shArena!.i32.set(parallel ? all : one, DESC_OFFSET >> 2);
    launchGemm(sh!.exports, shArena!.i32, parallel);
    if (timing.on) { timing.ms += performance.now() - t; timing.calls++; }
  }

  // ---------------------------------------------------------------- elementwise

  /**
   * Backend.copy: between two contiguous arrays of one type that both live in memory (a batch in one of MNIST's reused
   * buffers, copied into a compiled plan's input), one memmove in wasm: V8 copies shared memory a word at a time, at
   * about a quarter of memcpy's speed (9 µs for 200 KB against 2). Between a JS array and memory: copyArray
   * (bytes.ts, memcpy through Node's Buffer). Anything else: the reference.
   */
  function copy(src: View, dst: View): void {
    const s = src.data, d = dst.data;
    if (sh && (inMem(s) || inMem(d)) && s.constructor === d.constructor && isContiguousView(src) && isContiguousView(dst)) {
      const n = numel(src.shape);
      if (n === 0) return;
      if (inMem(s) && inMem(d)) sh.exports.copyBytes(at(d, dst.offset), at(s, src.offset), n * s.BYTES_PER_ELEMENT);
      else copyArray(d.subarray(dst.offset, dst.offset + n), s.subarray(src.offset, src.offset + n)); // one side in memory
      return;
    }
    cpu.copy(src, dst);
  }

  function unary(op: UnaryOp, x: View, out: TypedArray): void {
    const code = UNARY[op], n = out.length;
    if (code === undefined || n < state.minElements || !f32(x.data) || !f32(out) || n * 4 > MAX_BYTES || !isContiguousView(x)) {
      cpu.unary(op, x, out);
      return;
    }
    const shared = inMem(x.data) || inMem(out);
    const ar = shared ? shArena! : arena;
    ar.reset();
    const px = input(ar, x.data, x.offset, n);
    // in place: on out when it lives in memory (clear of x, or x itself), else on x's copy
    let po = inMem(out) ? at(out, 0) : inMem(x.data) ? -1 : px;
    if (po >= 0 && clash(po, n * 4, px, n * 4, true)) po = -1;
    if (po < 0) po = ar.alloc(n * 4);
    (shared ? sh!.exports : ex).unary(code, px, po, n);
    deliver(ar, po, n, out);
  }

  function binary(op: BinaryOp, a: View, b: View, out: TypedArray): void {
    const code = BINARY[op], n = out.length;
    const plan = code !== undefined && n >= state.minElements && f32(a.data) && f32(b.data) && f32(out) && n * 12 <= MAX_BYTES
      ? planBinary(a.shape, a, b) : null;
    if (!plan) {
      cpu.binary(op, a, b, out);
      return;
    }
    const ad = a.data as Float32Array, bd = b.data as Float32Array;
    const shared = inMem(ad) || inMem(bd) || inMem(out);
    const ar = shared ? shArena! : arena, kx = shared ? sh!.exports : ex;
    ar.reset();
    const pa = input(ar, ad, a.offset, plan.aLen);
    const pb = input(ar, bd, b.offset, plan.bLen);
    // out in place when it lives in memory clear of a and b (or is one of them, read in full)
    let po = inMem(out) ? at(out, 0) : -1;
    if (po >= 0 && (clash(po, n * 4, pa, plan.aLen * 4, plan.aLen === n) || clash(po, n * 4, pb, plan.bLen * 4, plan.bLen === n))) po = -1;
    if (po < 0) po = ar.alloc(n * 4);
    const { sizes, sa, sb } = plan, g = sizes.length;
    if (g <= 2) {
      const R = g === 2 ? sizes[0]! : 1, C = sizes[g - 1] ?? 1;
      kx.binary2d(code!, pa, mode(g, sa), pb, mode(g, sb), po, R, C);
    } else {
      // more than two merged dims: loop over the outer ones, the kernel takes the last two
      const R = sizes[g - 2]!, C = sizes[g - 1]!, am = mode(2, sa.slice(g - 2)), bm = mode(2, sb.slice(g - 2));
      const outer = sizes.slice(0, g - 2), idx = new Array<number>(outer.length).fill(0);
      let oa = 0, ob = 0;
      for (let k = 0, rows = n / (R * C); k < rows; k++) {
        kx.binary2d(code!, pa + oa * 4, am, pb + ob * 4, bm, po + k * R * C * 4, R, C);
        for (let dd = outer.length - 1; dd >= 0; dd--) {
          idx[dd]!++; oa += sa[dd]!; ob += sb[dd]!;
          if (idx[dd]! < outer[dd]!) break;
          oa -= sa[dd]! * outer[dd]!; ob -= sb[dd]! * outer[dd]!; idx[dd] = 0;
        }
      }
    }
    deliver(ar, po, n, out as Float32Array);
  }

  function activationGrad(op: 'sigmoid' | 'tanh', y: View, g: View, out: TypedArray): boolean {
    const n = out.length;
    if (!f32(y.data) || !f32(g.data) || !f32(out) || n * 12 > MAX_BYTES || !isContiguousView(y) || !isContiguousView(g)) return false;
    if (n < state.minElements) return false;
    const shared = inMem(y.data) || inMem(g.data) || inMem(out);
    const ar = shared ? shArena! : arena;
    ar.reset();
    const py = input(ar, y.data, y.offset, n), pg = input(ar, g.data, g.offset, n);
    // in place: on out when it lives in memory (clear of y and g, or one of them), else on y's copy
    let po = inMem(out) ? at(out, 0) : inMem(y.data) ? -1 : py;
    if (po >= 0 && (clash(po, n * 4, py, n * 4, true) || clash(po, n * 4, pg, n * 4, true))) po = -1;
    if (po < 0) po = ar.alloc(n * 4);
    (shared ? sh!.exports : ex).activationGrad(UNARY[op]!, py, pg, po, n);
    deliver(ar, po, n, out);
    return true;
  }

  function bceForward(p: View, y: View, out: TypedArray): number {
    const n = out.length;
    if (!f32(p.data) || !f32(y.data) || !f32(out) || n < state.minElements || n * 12 > MAX_BYTES || !isContiguousView(p) || !isContiguousView(y)) return -2;
    const shared = inMem(p.data) || inMem(y.data) || inMem(out);
    const ar = shared ? shArena! : arena;
    ar.reset();
    const pp = input(ar, p.data, p.offset, n), py = input(ar, y.data, y.offset, n);
    // out in place when it lives in memory clear of p and y (the range check reads p after the terms are written)
    let po = inMem(out) ? at(out, 0) : -1;
    if (po >= 0 && (clash(po, n * 4, pp, n * 4, false) || clash(po, n * 4, py, n * 4, false))) po = -1;
    if (po < 0) po = ar.alloc(n * 4);
    const bad = (shared ? sh!.exports : ex).bceForward(pp, py, po, n);
    if (bad < 0) deliver(ar, po, n, out);
    return bad;
  }

  function bceBackward(p: View, y: View, g: View, out: TypedArray): boolean {
    const n = out.length;
    const gScalar = g.strides.every((s, k) => s === 0 || g.shape[k] === 1);
    if (!f32(p.data) || !f32(y.data) || !f32(g.data) || !f32(out) || n < state.minElements || n * 16 > MAX_BYTES ||
      !isContiguousView(p) || !isContiguousView(y) || !(gScalar || isContiguousView(g))) return false;
    const shared = inMem(p.data) || inMem(y.data) || inMem(g.data) || inMem(out);
    const ar = shared ? shArena! : arena;
    ar.reset();
    const ng = gScalar ? 1 : n;
    const pp = input(ar, p.data, p.offset, n), py = input(ar, y.data, y.offset, n), pg = input(ar, g.data, g.offset, ng);
    let po = inMem(out) ? at(out, 0) : -1;
    if (po >= 0 && (clash(po, n * 4, pp, n * 4, true) || clash(po, n * 4, py, n * 4, true) || clash(po, n * 4, pg, ng * 4, !gScalar))) po = -1;
    if (po < 0) po = ar.alloc(n * 4);
    (shared ? sh!.exports : ex).bceBackward(pp, py, pg, gScalar ? 1 : 0, po, n);
    deliver(ar, po, n, out);
    return true;
  }

  function softmaxLastDim(x: View, log: boolean, out: TypedArray): boolean {
    const n = out.length, C = x.shape[x.shape.length - 1] ?? 1;
    if (!f32(x.data) || !f32(out) || n < state.minElements || n * 8 > MAX_BYTES || C === 0 || !isContiguousView(x)) return false;
    const shared = inMem(x.data) || inMem(out);
    const ar = shared ? shArena! : arena;
    ar.reset();
    const px = input(ar, x.data, x.offset, n);
    // out in place when it lives in memory clear of x (log-softmax reads x again after writing)
    let po = inMem(out) ? at(out, 0) : -1;
    if (po >= 0 && clash(po, n * 4, px, n * 4, false)) po = -1;
    if (po < 0) po = ar.alloc(n * 4);
    (shared ? sh!.exports : ex).softmaxRows(px, n / C, C, po, log ? 1 : 0);
    deliver(ar, po, n, out);
    return true;
  }

  // ---------------------------------------------------------------- reductions

  function reduce(op: ReduceOp, x: TypedArray, xOffset: number, outer: number, n: number, inner: number, out: TypedArray): void {
    const total = outer * n * inner;
    if (op !== 'sum' || !f32(x) || !f32(out) || total < state.minElements || total * 4 > MAX_BYTES) {
      cpu.reduce(op, x, xOffset, outer, n, inner, out);
      return;
    }
    const shared = inMem(x) || inMem(out);
    const ar = shared ? shArena! : arena, kx = shared ? sh!.exports : ex;
    ar.reset();
    const px = input(ar, x, xOffset, total), m = outer * inner;
    let po = inMem(out) ? at(out, 0) : -1;
    if (po >= 0 && clash(po, m * 4, px, total * 4, false)) po = -1;
    if (po < 0) po = ar.alloc(m * 4);
    if (inner === 1) kx.sumRows(px, outer, n, po);
    else kx.sumCols(px, outer, n, inner, po, ar.alloc(Math.ceil(inner / 4) * 32));
    deliver(ar, po, m, out);
  }

  // ---------------------------------------------------------------- fused optimizer steps

  function sgdStep(s: SgdStepArgs): void {
    const { n } = s;
    if (!f32(s.param) || !f32(s.grad) || (s.momentumBuffer && !f32(s.momentumBuffer)) || n * 12 > MAX_BYTES) {
      sgdReference(s);
      return;
    }
    const buf = s.momentumBuffer as Float32Array | null;
    const xs = [s.param, s.grad, buf];
    const shared = xs.some((x) => x !== null && inMem(x));
    const ar = shared ? shArena! : arena;
    ar.reset();
    const [pp, pg, pbuf] = operands(ar, xs, [true, true, !s.firstStep], n);
    runSgd(shared ? sh!.exports : ex, shared && onPool(n), pp!, pg!, pbuf!, n, s.lr, s.momentum, 1 - s.dampening, s.weightDecay,
      +s.nesterov, +s.maximize, +s.firstStep);
    deliver(ar, pp!, n, s.param);
    if (buf) deliver(ar, pbuf!, n, buf);
  }

  /**
   * The SGD step of s bound to its arrays (optim's seam, FusedOptimizerKernels.bindSgdStep) when they all live in
   * memory apart from each other, as sgdStep would then run it in place: each later step is the kernel call alone
   * (on the pool past optimizerParallelElements, as sgdStep), without the wrapper's checks and operand bookkeeping.
   */
  function bindSgdStep(s: SgdStepArgs): ((lr: number) => boolean) | null {
    const { n } = s, buf = s.momentumBuffer;
    if (!sh || !f32(s.param) || !f32(s.grad) || (buf && !f32(buf)) || n * 12 > MAX_BYTES) return null;
    if (!inMem(s.param) || !inMem(s.grad) || (buf && !inMem(buf))) return null;
    const pp = at(s.param, 0), pg = at(s.grad, 0), pb = buf ? at(buf, 0) : 0, bytes = n * 4;
    if (clash(pp, bytes, pg, bytes, false) || (buf && (clash(pb, bytes, pp, bytes, false) || clash(pb, bytes, pg, bytes, false)))) return null;
    const { momentum, weightDecay } = s, keep = 1 - s.dampening, nesterov = +s.nesterov, maximize = +s.maximize, first = +s.firstStep;
    const kx = sh.exports, epoch = optionsEpoch;
    return (lr) => {
      if (epoch !== optionsEpoch) return false;
      runSgd(kx, onPool(n), pp, pg, pb, n, lr, momentum, keep, weightDecay, nesterov, maximize, first);
      return true;
    };
  }

  /**
   * The SGD kernel on operands at these addresses: shared with the pool (descriptor at OPT_DESC_OFFSET of the shared
   * memory, operands there) or on the calling thread with kx. Flags are 0/1.
   */
  function runSgd(kx: WasmExports, parallel: boolean, pp: number, pg: number, pb: number, n: number, lr: number, momentum: number,
    keep: number, weightDecay: number, nesterov: number, maximize: number, first: number): void {
    if (!parallel) {
      kx.sgd(pp, pg, pb, n, lr, momentum, keep, weightDecay, nesterov, maximize, first);
      return;
    }
    const i = shArena!.i32, f = shArena!.f32, o = OPT_DESC_OFFSET >> 2;
    i[o] = pp; i[o + 1] = pg; i[o + 2] = pb; i[o + 5] = n; i[o + 6] = pool!.size + 1;
    i[o + 7] = nesterov; i[o + 8] = maximize; i[o + 9] = first;
    f[o + 10] = lr; f[o + 11] = momentum; f[o + 12] = keep; f[o + 13] = weightDecay;
    pool!.run(JOB_SGD, pool!.size + 1, true);
  }

  /**
   * Whether an optimizer step on n elements (operands in the shared memory) is shared with the pool: one part per
   * thread, split as the products that made the gradient were (see gemm), so that each core updates what it wrote.
   */
  function onPool(n: number): boolean {
    if (n < state.optimizerParallelElements) return false;
    const pool = workers();
    return pool !== null && pool.useful();
  }

  /**
   * Addresses of the operands of an in-place kernel (n floats each; null: none, address 0). One that lives in memory
   * is taken in place unless it overlaps another operand; the others are copied into the arena (`load`: with their
   * contents, else only room). Afterwards `deliver` copies results back where they were not computed in place.
   */
  function operands(ar: Arena, xs: readonly (Float32Array | null)[], load: readonly boolean[], n: number): number[] {
    // plain loops: this runs for every parameter of every optimizer step
    const k = xs.length, home: number[] = [], out: number[] = [];
    for (let i = 0; i < k; i++) { const x = xs[i] ?? null; home.push(x !== null && inMem(x) ? at(x, 0) : -1); }
    for (let i = 0; i < k; i++) {
      const x = xs[i] ?? null, h = home[i]!;
      if (x === null) { out.push(0); continue; }
      let inPlace = h >= 0;
      for (let j = 0; inPlace && j < k; j++) if (j !== i && home[j]! >= 0 && clash(h, n * 4, home[j]!, n * 4, false)) inPlace = false;
      if (inPlace) { out.push(h); continue; }
      const p = ar.alloc(n * 4);
      if (load[i] && h >= 0) sh!.exports.copyBytes(p, h, n * 4);
      else if (load[i]) ar.write(p, x.length === n ? x : x.subarray(0, n));
      out.push(p);
    }
    return out;
  }

  function adamStep(s: AdamStepArgs): void {
    const { n } = s;
    const arrays = [s.param, s.grad, s.expAvg, s.expAvgSq, ...(s.maxExpAvgSq ? [s.maxExpAvgSq] : [])];
    if (!arrays.every(f32) || n * 20 > MAX_BYTES) {
      adamReference(s);
      return;
    }
    const xs = [s.param, s.grad, s.expAvg, s.expAvgSq, s.maxExpAvgSq ?? null] as (Float32Array | null)[];
    const shared = xs.some((x) => x !== null && inMem(x));
    const ar = shared ? shArena! : arena;
    ar.reset();
    const [pp, pg, pm, pv, pmax] = operands(ar, xs, [true, true, true, true, true], n);
    runAdam(shared ? sh!.exports : ex, shared && onPool(n), pp!, pg!, pm!, pv!, pmax!, n, s.lr, s.step, s.beta1, s.beta2, s.eps,
      s.weightDecay, +s.decoupled, +s.maximize);
    deliver(ar, pp!, n, xs[0]!);
    deliver(ar, pm!, n, xs[2]!);
    deliver(ar, pv!, n, xs[3]!);
    if (xs[4]) deliver(ar, pmax!, n, xs[4]);
  }

  /**
   * The Adam step of s bound to its arrays (optim's seam, FusedOptimizerKernels.bindAdamStep) when they all live in
   * memory apart from each other: as bindSgdStep, with the learning rate and the step count given at each call.
   */
  function bindAdamStep(s: AdamStepArgs): ((lr: number, step: number) => boolean) | null {
    const { n } = s, max = s.maxExpAvgSq;
    const xs = [s.param, s.grad, s.expAvg, s.expAvgSq, ...(max ? [max] : [])];
    if (!sh || !xs.every((x) => f32(x) && inMem(x)) || n * 20 > MAX_BYTES) return null;
    const ps = xs.map((x) => at(x, 0)), bytes = n * 4;
    for (let i = 0; i < ps.length; i++) for (let j = i + 1; j < ps.length; j++) if (clash(ps[i]!, bytes, ps[j]!, bytes, false)) return null;
    const [pp, pg, pm, pv] = ps as [number, number, number, number], pmax = max ? ps[4]! : 0;
    const { beta1, beta2, eps, weightDecay } = s, decoupled = +s.decoupled, maximize = +s.maximize;
    const kx = sh.exports, epoch = optionsEpoch;
    return (lr, step) => {
      if (epoch !== optionsEpoch) return false;
      runAdam(kx, onPool(n), pp, pg, pm, pv, pmax, n, lr, step, beta1, beta2, eps, weightDecay, decoupled, maximize);
      return true;
    };
  }

  /** The Adam kernel on operands at these addresses (step ≥ 1), as runSgd: on the pool or on the calling thread. */
  function runAdam(kx: WasmExports, parallel: boolean, pp: number, pg: number, pm: number, pv: number, pmax: number, n: number,
    lr: number, step: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: number, maximize: number): void {
    const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
    if (!parallel) {
      kx.adam(pp, pg, pm, pv, pmax, n, beta1, 1 - beta1, beta2, 1 - beta2, eps, weightDecay, 1 - lr * weightDecay, decoupled, maximize,
        lr / bc1, Math.sqrt(bc2));
      return;
    }
    const i = shArena!.i32, f = shArena!.f32, o = OPT_DESC_OFFSET >> 2;
    i[o] = pp; i[o + 1] = pg; i[o + 2] = pm; i[o + 3] = pv; i[o + 4] = pmax; i[o + 5] = n; i[o + 6] = pool!.size + 1;
    i[o + 7] = decoupled; i[o + 8] = maximize;
    f[o + 9] = beta1; f[o + 10] = 1 - beta1; f[o + 11] = beta2; f[o + 12] = 1 - beta2; f[o + 13] = eps;
    f[o + 14] = weightDecay; f[o + 15] = 1 - lr * weightDecay; f[o + 16] = lr / bc1; f[o + 17] = Math.sqrt(bc2);
    pool!.run(JOB_ADAM, pool!.size + 1, true);
  }

  // ---------------------------------------------------------------- gather (indexSelect's pattern, in TypeScript)

  /**
   * gather where the index varies along dim only (indexSelect, one-hot rows from an identity) on contiguous x:
   * whole rows are copied. Other patterns go to the reference.
   */
  function gather(x: View, dim: number, index: View, out: TypedArray): void {
    const r = rowGather(x, dim, index);
    if (!r) {
      cpu.gather(x, dim, index, out);
      return;
    }
    const { outer, inner, J, size, is, n, xLen } = r, xd = x.data, idx = index.data;
    if (f32(xd) && f32(out) && idx instanceof Int32Array && rowGatherInWasm(r, inMem(xd), state.minElements)) {
      const shared = inMem(xd) || inMem(idx) || inMem(out);
      const ar = shared ? shArena! : arena;
      ar.reset();
      const px = input(ar, xd, x.offset, xLen);
      let pi: number;
      if (inMem(idx)) pi = at(idx, index.offset);
      else {
        pi = ar.alloc(J * 4);
        for (let j = 0; j < J; j++) ar.i32[(pi >>> 2) + j] = idx[index.offset + j * is]!;
      }
      let po = inMem(out) ? at(out, 0) : -1;
      if (po >= 0 && clash(po, n * 4, px, xLen * 4, false)) po = -1;
      if (po < 0) po = ar.alloc(n * 4);
      const bad = (shared ? sh!.exports : ex).gatherRows(px, pi, inMem(idx) ? is : 1, J, size, outer, inner, po);
      if (bad >= 0) throw gatherIndexError(idx[index.offset + bad * is]!, dim, size);
      deliver(ar, po, n, out);
      return;
    }
    for (let j = 0; j < J; j++) {
      const v = idx[index.offset + j * is]!;
      if (!Number.isInteger(v) || v < -size || v >= size) throw gatherIndexError(v, dim, size);
    }
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < J; j++) {
        let k = idx[index.offset + j * is]!;
        if (k < 0) k += size;
        const src = x.offset + (o * size + k) * inner, dst = (o * J + j) * inner;
        if (inner >= 32) out.set(xd.subarray(src, src + inner) as never, dst);
        else for (let i = 0; i < inner; i++) out[dst + i] = xd[src + i]!;
      }
    }
  }

  // ---------------------------------------------------------------- dataset batches stored as bytes

  /**
   * Read one byte of every cache line of rows k0 … k1−1 (random rows of a large dataset, cold in cache and in the
   * TLB): the loads are independent, so the processor has many misses in flight, where the row-by-row copy after it
   * would wait for each row in turn. An MNIST batch of 64 rows: 44–55 µs to copy, 36–40 µs touched first.
   */
  function touchRows(src: Uint8Array, row: number, rows: Int32Array, k0: number, k1: number): number {
    let sum = 0;
    for (let k = k0; k < k1; k++) {
      const s = rows[k]! * row;
      for (let o = 0; o < row; o += 64) sum += src[s + o]!;
      sum += src[s + row - 1]!;
    }
    return sum;
  }

  /**
   * out[k·row + j] = table[src[rows[k]·row + j]], decoded in wasm (the reference's per-byte lookup in TypeScript
   * costs ~100 µs for an MNIST batch of 64). When src lives in memory (MNIST reads its pixels there) one kernel
   * gathers and decodes the rows in place (36 µs for a batch of 64 random rows, 44–47 copying them first); otherwise
   * the rows are first copied into the arena. Large requests go in pieces of about 64 K elements, so the arena stays
   * small.
   */
  function gatherRowsU8(src: Uint8Array, row: number, rows: Int32Array, table: Float32Array, out: Float32Array): void {
    if (prefetched && takePrefetched(src, row, rows, table, out)) return;
    const n = rows.length * row;
    if (n < state.minElements || row === 0 || table.length < 256 || !f32(out)) {
      cpu.gatherRowsU8(src, row, rows, table, out);
      return;
    }
    const shared = inMem(out) || inMem(src) || inMem(table);
    const ar = shared ? shArena! : arena, kx = shared ? sh!.exports : ex;
    const per = Math.max(1, Math.floor(65536 / row));
    for (let k0 = 0; k0 < rows.length; k0 += per) {
      const k1 = Math.min(rows.length, k0 + per), m = (k1 - k0) * row;
      ar.reset();
      // the decoded floats go straight into out when it lives in memory
      const pt = input(ar, table, 0, 256);
      let po = inMem(out) ? at(out, k0 * row) : -1;
      if (po >= 0 && clash(po, m * 4, pt, 1024, false)) po = -1;
      if (po < 0) po = ar.alloc(m * 4);
      if (inMem(src)) {
        // rows read where they are (MNIST's pixels, mnist.ts): gathered and decoded in one kernel
        const pi = ar.alloc((k1 - k0) * 4);
        ar.i32.set(rows.subarray(k0, k1), pi >>> 2);
        kx.gatherLookupU8(at(src, 0), row, pi, k1 - k0, pt, po);
      } else {
        // rows copied into the arena, then decoded
        const ps = ar.alloc(m), u8 = ar.u8;
        touchRows(src, row, rows, k0, k1);
        for (let k = k0; k < k1; k++) {
          const s = rows[k]! * row;
          u8.set(src.subarray(s, s + row), ps + (k - k0) * row);
        }
        kx.lookupU8(ps, m, pt, po);
      }
      deliver(ar, po, m, out, k0 * row);
    }
  }

  // ---------------------------------------------------------------- bound calls (compiled plans)

  /** Changed by setOptions: a call bound before then goes through its wrapper again (thresholds may differ). */
  let optionsEpoch = 0;

  /**
   * Backend.bind: a compiled plan's kernel call whose arrays all live in memory, where the wrapper would run the
   * kernel on them in place, is worked out once (addresses, sizes, the product's tiling); each replay is then one call
   * into wasm instead of the wrapper's checks and arena bookkeeping. Null for any other call.
   */
  function bind(method: string, args: readonly unknown[]): (() => unknown) | null {
    const run = sh && allocateResident ? prepareCall({ kx: sh.exports, state, inMem, allocateResident, runGemm }, method, args) : null;
    if (!run) return null;
    const epoch = optionsEpoch, wrapper = (backend as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    return () => (epoch === optionsEpoch ? run() : wrapper.apply(backend, args as unknown[]));
  }

  const backend: Backend & FusedKernels = {
    ...cpu,
    name: 'wasm',
    copy, unary, binary, reduce, gemm, gather, sgdStep, adamStep, activationGrad, bceForward, bceBackward, softmaxLastDim,
    gatherRowsU8, bindSgdStep, bindAdamStep,
    prefetchRowsU8,
    ...(allocateResident ? { allocateResident, bind } : {}),
    // the workers boot while the program loads its data, rather than during its first products
    activate: () => workers()?.start(),
  };

  const info = (): WasmInfo => ({
    ...state,
    cpus: ncpu,
    shared: sh !== null,
    relaxedSimd: loaded.relaxed,
    workersStarted: pool?.started ?? false,
    warmupRounds: pool?.warmupRounds ?? 0,
    arenaBytes: arena.size + (shArena?.size ?? 0),
    residentBytes: heap?.liveBytes ?? 0,
    residentArrays: heap?.liveCount ?? 0,
    residentHeapBytes: heap?.heapBytes ?? 0,
    prefetchesDelivered, prefetchesMissed,
    productCalls: timing.calls, productSeconds: timing.ms / 1000,
  });

  /** Start (from zero) or stop timing products; unlike setOptions this leaves bound calls bound. */
  const timeProducts = (on: boolean): void => {
    if (on) { timing.calls = 0; timing.ms = -0; }
    timing.on = on;
  };

  const setOptions = (o: Partial<WasmOptions>): void => {
    optionsEpoch++;
    if (o.threads !== undefined) {
      if (!Number.isInteger(o.threads) || o.threads < 1) throw new Error(`setWasmOptions: threads must be a positive integer, got ${o.threads}`);
      const changed = o.threads !== state.threads;
      if (changed && pool) { prefetched = null; void pool.terminate(); pool = null; }
      state.threads = Math.min(MAX_THREADS, o.threads);
      if (changed && isCurrentBackend(backend)) workers()?.start(); // the new workers boot now, as at activation
    }
    if (o.yieldWhenBusy !== undefined) state.yieldWhenBusy = !!o.yieldWhenBusy;
    if (o.warmup !== undefined) state.warmup = !!o.warmup;
    for (const k of ['minElements', 'gemmMinFlops', 'gemmParallelFlops', 'optimizerParallelElements', 'residentBudget'] as const) {
      const v = o[k];
      if (v === undefined) continue;
      if (!(v >= 0)) throw new Error(`setWasmOptions: ${k} must be a number ≥ 0, got ${v}`);
      state[k] = v;
    }
  };
  return { backend, info, setOptions, timeProducts };
}

/** The fused kernels this backend adds (optim's seam, src/optim/fused.ts). */
interface FusedKernels {
  sgdStep(args: SgdStepArgs): void;
  adamStep(args: AdamStepArgs): void;
  bindSgdStep(args: SgdStepArgs): ((lr: number) => boolean) | null;
  bindAdamStep(args: AdamStepArgs): ((lr: number, step: number) => boolean) | null;
}

/** What the wasm backend reports about itself. */
export interface WasmInfo extends WasmOptions {
  cpus: number;
  /** Whether the shared-memory build loaded (threads need it). */
  shared: boolean;
  /** Whether the relaxed-SIMD builds (fused multiply-add in matmul) are in use; NABLA_WASM_RELAXED=0 turns them off. */
  relaxedSimd: boolean;
  /** Whether the worker threads were started: when the backend became the current one, else at its first parallel job. */
  workersStarted: boolean;
  /** Rounds of the kernels' warm-up a worker ran (WasmOptions.warmup); 0 while it runs or without one, negative when a job cut it short. */
  warmupRounds: number;
  /** Bytes of wasm memory held by the scratch arenas. */
  arenaBytes: number;
  /** Bytes of the resident arrays alive now (each block padded to 16 bytes plus 32), and how many there are. */
  residentBytes: number;
  residentArrays: number;
  /** Bytes of wasm memory set aside for resident arrays (alive or free). */
  residentHeapBytes: number;
  /** Batches (gatherRowsU8 calls) so far whose rows a worker had gathered ahead (prefetchRowsU8), and those gathered on the calling thread instead, the request not taken in time or not matching. */
  prefetchesDelivered: number;
  prefetchesMissed: number;
  /**
   * Matrix products made while `timeWasmProducts(true)` was on, and the seconds they took: the whole call on the
   * calling thread (the wrapper with its copies, or a compiled plan's bound call), waiting for the pool included.
   */
  productCalls: number;
  productSeconds: number;
}

function availableCpus(): number {
  return Math.max(1, typeof availableParallelism === 'function' ? availableParallelism() : cpus().length);
}

// the reference updates, for float64 parameters (same formulas as src/optim, one pass over the arrays)
function sgdReference(s: SgdStepArgs): void {
  const { param: p, grad: g, momentumBuffer: buf, n } = s;
  for (let i = 0; i < n; i++) {
    let d = s.maximize ? -g[i]! : g[i]!;
    if (s.weightDecay !== 0) d += s.weightDecay * p[i]!;
    if (s.momentum !== 0 && buf) {
      buf[i] = s.firstStep ? d : s.momentum * buf[i]! + (1 - s.dampening) * d;
      d = s.nesterov ? d + s.momentum * buf[i]! : buf[i]!;
    }
    p[i] = p[i]! - s.lr * d;
  }
}

function adamReference(s: AdamStepArgs): void {
  const { param: p, grad: g, expAvg: m, expAvgSq: v, maxExpAvgSq: vmax, n } = s;
  const bc1 = 1 - s.beta1 ** s.step, bc2s = Math.sqrt(1 - s.beta2 ** s.step);
  for (let i = 0; i < n; i++) {
    let gi = s.maximize ? -g[i]! : g[i]!;
    let pi = p[i]!;
    if (s.weightDecay !== 0) {
      if (s.decoupled) pi *= 1 - s.lr * s.weightDecay;
      else gi += s.weightDecay * pi;
    }
    m[i] = s.beta1 * m[i]! + (1 - s.beta1) * gi;
    v[i] = s.beta2 * v[i]! + (1 - s.beta2) * gi * gi;
    let vh = v[i]!;
    if (vmax) { vmax[i] = Math.max(vmax[i]!, vh); vh = vmax[i]!; }
    p[i] = pi - (m[i]! / (Math.sqrt(vh) / bc2s + s.eps)) * (s.lr / bc1);
  }
}

const created = createWasmBackend();

/** The wasm backend, or null when its kernels are not available (see `wasmUnavailableReason`). */
export const wasmBackend: Backend | null = 'backend' in created ? created.backend : null;
/** Why the wasm backend is not available; null when it is. */
export const wasmUnavailableReason: string | null = 'error' in created ? created.error : null;

/** The wasm backend's settings and state, or null without it. */
export function wasmInfo(): WasmInfo | null {
  return 'info' in created ? created.info() : null;
}

/**
 * Time the wasm backend's matrix products from now on (counters reset; see WasmInfo.productSeconds), or stop. Bound
 * calls of compiled plans stay bound, so a benchmark sees the same step it would run untimed.
 */
export function timeWasmProducts(on: boolean): void {
  if (!('timeProducts' in created)) throw new Error(`timeWasmProducts: the wasm backend is not available (${wasmUnavailableReason})`);
  created.timeProducts(on);
}

/** Change the wasm backend's settings (threads, size thresholds). */
export function setWasmOptions(opts: Partial<WasmOptions>): void {
  if (!('setOptions' in created)) throw new Error(`setWasmOptions: the wasm backend is not available (${wasmUnavailableReason})`);
  created.setOptions(opts);
}
