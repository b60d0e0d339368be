/**
 * The thread pool: persistent workers that share one WebAssembly.Memory (shared: true) with the calling
 * thread and run chunks of a job, woken through Atomics rather than a message per call.
 *
 * A job is a kind, a descriptor in shared memory and n chunks. Chunks are claimed one at a time by
 * compare-and-swap on a counter that only ever grows, so a worker that wakes late for a job that is over
 * claims nothing, and the calling thread claims chunks too: it never waits for a worker to start, only for
 * chunks a worker has already claimed to finish. Workers spin briefly after a job (the next one usually
 * follows within microseconds in a training step), then sleep in Atomics.wait. They are unref'd: they never
 * keep the process alive, and ops stay synchronous.
 *
 * A job can instead be run with affinity: thread t (0 the calling thread, then the workers) owns the t-th
 * contiguous range of chunks and takes them from the front; a thread whose range is done steals from the back of
 * the others'. So the same thread computes the same part of a weight's product and of its optimizer step, step
 * after step, and the data stays in that core's cache: on the 2-core test machine a parameter update that read a
 * gradient half written on the other core took 60–160 µs instead of 21. A late worker only loses chunks to stealing.
 * Each range is one word (front | back << 16) changed by compare-and-swap; a chunk's job is read after claiming it,
 * and a job is only replaced once all its chunks are done, so a stale worker can never run a chunk of the wrong job.
 *
 * Before its first job, the first worker of the process may warm the kernels up (warmup.ts): it runs them on an
 * instance and a memory of its own, so that V8 compiles them optimized while the program is still loading.
 *
 * Beside the jobs there is one background task (`post`): work the calling thread will need later, such as the next
 * batch of a dataset. A worker takes it after its part of the next job, in the stretch of a training step that
 * runs on the calling thread alone, so it never delays the job itself. The calling thread `collect`s it: it runs it
 * itself when no worker has started it (a program that makes no jobs meanwhile still gets its result).
 */
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CTL_OFFSET, DESC_OFFSET, MAX_THREADS, SCRATCH_OFFSET, THREAD_BYTES } from './arena.js';
import type { WarmupPlan } from './warmup.js';

// control block slots (Int32 at CTL_OFFSET): the job, then one range word per thread from RANGES (affinity jobs)
const GEN = 0, NEXT = 1, LO = 2, HI = 3, DONE = 4, SLEEPERS = 5, MAINWAIT = 6, ERR = 7, KIND = 8, POOL = 9, MODE = 10, AHI = 11, RANGES = 16;
/** The kernels' warm-up (warmup.ts): rounds a worker ran, negative when a job cut it short; 0 until it is over. */
const WARMED = 15;
// the background task: its state, the job generation it was posted at (a worker takes it only after a later job),
// and whether the calling thread sleeps waiting for it
const BG = 12, BGGEN = 13, BGWAIT = 14;
/** Background task states: none, posted, running on a worker, done, failed on a worker. */
const BG_NONE = 0, BG_POSTED = 1, BG_RUNNING = 2, BG_DONE = 3, BG_FAILED = 4;
const CTL_SLOTS = RANGES + MAX_THREADS;
/** Chunks an affinity job may have (a range word holds two 16-bit indices). */
export const MAX_AFFINE_CHUNKS = 0xffff;

/** Job kinds: which export runs a chunk (the worker script has the same table). */
export const JOB_GEMM = 1, JOB_SGD = 2, JOB_ADAM = 3;
/** Where the optimizer jobs' descriptor lives (the gemm's is at DESC_OFFSET). */
export const OPT_DESC_OFFSET = DESC_OFFSET + 512;
/** Background task kinds, and where the task's descriptor lives (int32 slots). */
export const BG_GATHER_U8 = 1;
export const BG_DESC_OFFSET = DESC_OFFSET + 1024;

/**
 * Claim a chunk of an affinity job: from the front of thread me's range, else from the back of another's; −1 when
 * none is left. (The same text runs in the workers: see WORKER_SOURCE.)
 */
function claimAffine(ctl: Int32Array, me: number, threads: number): number {
  for (let k = 0; k < threads; k++) {
    const t = (me + k) % threads, slot = RANGES + t;
    for (;;) {
      const w = Atomics.load(ctl, slot), front = w & 0xffff, back = w >>> 16;
      if (front >= back) break;
      const next = k === 0 ? (front + 1) | (back << 16) : front | ((back - 1) << 16);
      if (Atomics.compareExchange(ctl, slot, w, next) === w) return k === 0 ? front : back - 1;
    }
  }
  return -1;
}

/** Run the background task described by `d` (int32 slots at BG_DESC_OFFSET) with the kernels `ex`. (The workers run this text too.) */
function runBackground(ex: { gatherLookupU8(src: number, row: number, idx: number, n: number, table: number, out: number): void }, d: Int32Array): void {
  if (d[0] === 1 /* BG_GATHER_U8 */) ex.gatherLookupU8(d[1]!, d[2]!, d[3]!, d[4]!, d[5]!, d[6]!);
  else throw new Error(`unknown background task ${d[0]}`);
}

/**
 * The workers' script, an ES module (loaded from a data: URL, which is one whatever the process's --input-type: as
 * eval'd source, `node --input-type=module` made it an ES module too, where `require` is not defined, and the workers
 * died at once, leaving the pool to the calling thread).
 */
const WORKER_SOURCE = `
import { workerData } from 'node:worker_threads';
const { module, memory, ctlOffset, descOffset, optDescOffset, bgDescOffset, scratch, spin, poolId, me, warmup } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
ex.setScratch(scratch);
const ctl = new Int32Array(memory.buffer, ctlOffset, ${CTL_SLOTS});
const GEN = ${GEN}, NEXT = ${NEXT}, LO = ${LO}, HI = ${HI}, DONE = ${DONE}, SLEEPERS = ${SLEEPERS}, MAINWAIT = ${MAINWAIT}, ERR = ${ERR}, KIND = ${KIND}, POOL = ${POOL}, MODE = ${MODE}, AHI = ${AHI}, RANGES = ${RANGES};
const BG = ${BG}, BGGEN = ${BGGEN}, BGWAIT = ${BGWAIT};
const bg = new Int32Array(memory.buffer, bgDescOffset, 8);
function chunk(kind, c) {
  if (kind === ${JOB_GEMM}) ex.gemmTiles(descOffset, c, c + 1);
  else if (kind === ${JOB_SGD}) ex.sgdPart(optDescOffset, c);
  else if (kind === ${JOB_ADAM}) ex.adamPart(optDescOffset, c);
}
${claimAffine.toString()}
${runBackground.toString()}
/** Take the background task when it was posted before the job just done (the calling thread runs alone now). */
function background() {
  if (Atomics.load(ctl, BG) !== ${BG_POSTED} || ((seen - Atomics.load(ctl, BGGEN)) | 0) <= 0) return;
  if (Atomics.compareExchange(ctl, BG, ${BG_POSTED}, ${BG_RUNNING}) !== ${BG_POSTED}) return;
  let state = ${BG_DONE};
  try { runBackground(ex, bg); } catch (e) { state = ${BG_FAILED}; }
  Atomics.store(ctl, BG, state);
  if (Atomics.load(ctl, BGWAIT)) Atomics.notify(ctl, BG);
}
function finish(hi) {
  if (Atomics.add(ctl, DONE, 1) + 1 === hi && Atomics.load(ctl, MAINWAIT)) Atomics.notify(ctl, DONE);
}
/**
 * Run the warm-up's kernel calls (warmup.ts) with the exports kx on memory mem, for its rounds or until its time is up;
 * the rounds run, negative when a job was posted meanwhile (jobs come first).
 */
function warm(w, kx, mem, gen) {
  const t0 = performance.now(), i32 = new Int32Array(mem.buffer), f = new Float32Array(mem.buffer, w.base, w.floats);
  for (let i = 0; i < f.length; i++) f[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  for (const [p, values] of w.ints) i32.set(values, p >> 2);
  let rounds = 0;
  while (rounds < w.rounds && performance.now() - t0 < w.maxMs) {
    for (const [name, ...args] of w.calls) {
      if (Atomics.load(ctl, GEN) !== gen) return -Math.max(rounds, 1);
      kx[name](...args);
    }
    rounds++;
  }
  return rounds;
}
if (warmup) {
  // on an instance of its own, on a memory of its own: the pool's memory is not touched, and the optimized code
  // compiled for the module serves every instance of it
  let rounds = -1;
  try {
    const mem = new WebAssembly.Memory({ initial: warmup.pages, maximum: warmup.pages, shared: true });
    const wx = new WebAssembly.Instance(module, { env: { memory: mem } }).exports;
    wx.setScratch(warmup.scratch);
    rounds = warm(warmup.plan, wx, mem, Atomics.load(ctl, GEN));
  } catch (e) {
    // a warm-up that fails only leaves the kernels to warm up in use: the worker goes on to its jobs
  }
  Atomics.store(ctl, ${WARMED}, rounds);
}
let seen = Atomics.load(ctl, GEN);
for (;;) {
  let g = Atomics.load(ctl, GEN);
  for (let s = spin; g === seen && s > 0; s--) g = Atomics.load(ctl, GEN);
  if (g === seen) {
    Atomics.add(ctl, SLEEPERS, 1);
    Atomics.wait(ctl, GEN, seen);
    Atomics.sub(ctl, SLEEPERS, 1);
    continue;
  }
  seen = g;
  if (Atomics.load(ctl, POOL) !== poolId) break; // a newer pool replaced this one (thread count changed)
  const mode = Atomics.load(ctl, MODE);
  if (mode > 0) {
    // affinity job over mode threads, mode chunks in all at most: the job is read after each claim
    for (let c; (c = claimAffine(ctl, me, mode)) >= 0;) {
      try { chunk(Atomics.load(ctl, KIND), c); } catch (e) { Atomics.store(ctl, ERR, 1); }
      finish(Atomics.load(ctl, AHI));
    }
    background();
    continue;
  }
  const hi = Atomics.load(ctl, HI), lo = Atomics.load(ctl, LO), kind = Atomics.load(ctl, KIND);
  for (;;) {
    const v = Atomics.load(ctl, NEXT);
    if (v >= hi || v < lo) break;
    if (Atomics.compareExchange(ctl, NEXT, v, v + 1) !== v) continue;
    try { chunk(kind, v - lo); } catch (e) { Atomics.store(ctl, ERR, 1); }
    finish(hi - lo);
  }
  background();
}
`;

/**
 * The first value of a field that later holds fractions. V8 gives an object's fields a representation from the first
 * value stored (a small integer, here 0) and replaces the object's map when a fraction arrives; every optimized
 * function that had seen the pool then deoptimized and was compiled again. That happened a second into a run, when
 * the load check first stored a time: the first MLP epoch deoptimized the pool, the products, the optimizer step and
 * the replay at once, and V8 spent tens of milliseconds compiling them again. −0 is a fraction to V8 and 0 to arithmetic.
 */
const DOUBLE_ZERO = -0;

export interface PoolOptions {
  /** Worker threads (the calling thread works too). */
  workers: number;
  /** Atomics.load iterations a worker spins before sleeping (about 1 ns each). */
  spin: number;
  /** CPUs of the machine, for the oversubscription check (0: never check). */
  cpus: number;
  /** Whether the pool steps aside on a busy machine (read before each job). */
  yieldWhenBusy: () => boolean;
  /**
   * Kernel calls the first worker makes before its first job (warmup.ts), on its own instance of the module and a
   * shared memory of its own (`pages` pages, its tile scratch at `scratch`); or null.
   */
  warmup: { plan: WarmupPlan; pages: number; scratch: number } | null;
}

const WORKER_URL = new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`);

/** Pools made so far: each pool's workers get their own scratch slots and leave when a newer pool takes over. */
let pools = 0, slotsUsed = 0;

export class Pool {
  private readonly ctl: Int32Array;
  private readonly id = ++pools;
  private workers: Worker[] = [];
  private running = false;
  /** Set when a worker failed to start or died: jobs then run on the calling thread only. */
  broken = false;
  /**
   * Share of recent jobs' time the calling thread spent waiting for workers (moving average). On a machine busy
   * with other work a worker holding a chunk may be descheduled for milliseconds; when waiting dominates, the
   * pool sits out a number of jobs (they run on the calling thread) and then tries again.
   */
  private waitShare = DOUBLE_ZERO;
  private sitOut = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly module: WebAssembly.Module,
    private readonly runChunk: (kind: number, chunk: number) => void,
    readonly options: PoolOptions,
  ) {
    this.ctl = new Int32Array(memory.buffer, CTL_OFFSET, CTL_SLOTS);
    Atomics.store(this.ctl, POOL, this.id);
    if (Atomics.load(this.ctl, SLEEPERS) > 0) { Atomics.add(this.ctl, GEN, 1); Atomics.notify(this.ctl, GEN); } // wake old workers to leave
  }

  get size(): number {
    return this.options.workers;
  }

  /** The warm-up's rounds (warmup.ts): 0 while it runs or when there was none, negative when a job cut it short. */
  get warmupRounds(): number {
    return Atomics.load(this.ctl, WARMED);
  }

  /** Whether the workers were started (they may still be booting). */
  get started(): boolean {
    return this.running;
  }

  /**
   * Start the workers (once: when the backend becomes the current one, else on the first parallel job or background
   * task); they join jobs as soon as they are up.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.options.workers; i++) {
      try {
        const w = new Worker(WORKER_URL, {
          workerData: {
            module: this.module, memory: this.memory, ctlOffset: CTL_OFFSET, descOffset: DESC_OFFSET, optDescOffset: OPT_DESC_OFFSET, bgDescOffset: BG_DESC_OFFSET,
            scratch: SCRATCH_OFFSET + THREAD_BYTES * (1 + (slotsUsed++ % (MAX_THREADS - 1))), spin: this.options.spin, poolId: this.id, me: i + 1,
            warmup: i === 0 ? this.options.warmup : null,
          },
        });
        w.on('error', () => { this.broken = true; });
        w.on('exit', () => { this.broken = true; });
        w.unref();
        this.workers.push(w);
      } catch {
        this.broken = true;
      }
    }
  }

  private loadCheckedAt = -Infinity;
  private overloaded = false;

  /**
   * Whether the next job should use the pool: not while it sits out after workers kept the caller waiting, and not
   * while the machine is oversubscribed (1-minute load average above the CPU count plus one, checked once a
   * second): there a worker only competes with the calling thread for a core.
   */
  useful(): boolean {
    if (this.broken) return false;
    if (!this.options.yieldWhenBusy()) return true;
    const now = performance.now();
    if (now - this.loadCheckedAt > 1000) {
      this.loadCheckedAt = now;
      this.overloaded = this.options.cpus > 0 && loadavg()[0]! > this.options.cpus + 1;
    }
    if (this.overloaded) return false;
    if (this.sitOut > 0) { this.sitOut--; return false; }
    return true;
  }

  /**
   * Run chunks 0 … n−1 of a job whose descriptor is already written; returns when all are done. With `affine`
   * (and n ≤ MAX_AFFINE_CHUNKS) thread t owns the t-th contiguous range of chunks (see the file comment).
   */
  run(kind: number, n: number, affine = false): void {
    this.start();
    const t0 = performance.now();
    const ctl = this.ctl, threads = this.options.workers + 1;
    affine &&= n <= MAX_AFFINE_CHUNKS;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERR, 0);
    Atomics.store(ctl, KIND, kind);
    let lo = 0;
    if (affine) {
      for (let t = 0; t < threads; t++) {
        const a = Math.floor((t * n) / threads), b = Math.floor(((t + 1) * n) / threads);
        Atomics.store(ctl, RANGES + t, a | (b << 16));
      }
      Atomics.store(ctl, AHI, n); // (LO, HI and NEXT stay as the last plain job left them: nothing to claim there)
      Atomics.store(ctl, MODE, threads);
    } else {
      lo = Atomics.load(ctl, NEXT);
      if (lo > 0x3fffffff) { lo = 0; Atomics.store(ctl, NEXT, 0); } // stale workers see v < their lo and stop
      Atomics.store(ctl, MODE, 0);
      Atomics.store(ctl, LO, lo);
      Atomics.store(ctl, HI, lo + n); // publishes the job: workers read HI before LO
    }
    Atomics.add(ctl, GEN, 1);
    if (Atomics.load(ctl, SLEEPERS) > 0) Atomics.notify(ctl, GEN);
    let mine = 0;
    for (;;) {
      let c: number;
      if (affine) {
        c = claimAffine(ctl, 0, threads);
        if (c < 0) break;
      } else {
        const v = Atomics.load(ctl, NEXT);
        if (v >= lo + n) break;
        if (Atomics.compareExchange(ctl, NEXT, v, v + 1) !== v) continue;
        c = v - lo;
      }
      try {
        this.runChunk(kind, c);
      } catch (e) {
        Atomics.store(ctl, ERR, 1);
      }
      Atomics.add(ctl, DONE, 1);
      mine++;
    }
    if (mine < n) {
      const t1 = performance.now();
      this.waitDone(n);
      const t2 = performance.now();
      this.waitShare = 0.8 * this.waitShare + 0.2 * ((t2 - t1) / Math.max(t2 - t0, 1e-3));
    } else {
      this.waitShare *= 0.8;
    }
    if (this.waitShare > 0.35) { this.sitOut = 64; this.waitShare = 0.2; }
    if (Atomics.load(ctl, ERR)) throw new Error('wasm backend: a kernel failed in the thread pool');
  }

  /**
   * Post the background task whose descriptor is written at BG_DESC_OFFSET (`runBackground` runs it). A task posted
   * before must have been collected or cancelled. False when the pool cannot take it now (broken, or stepping aside
   * on a busy machine): the caller then does the work when it needs it.
   */
  post(): boolean {
    if (this.broken || (this.options.yieldWhenBusy() && (this.overloaded || this.sitOut > 0))) return false;
    this.start();
    const ctl = this.ctl;
    Atomics.store(ctl, BGGEN, Atomics.load(ctl, GEN));
    Atomics.store(ctl, BG, BG_POSTED);
    return true;
  }

  /**
   * Wait for the posted background task: true when a worker ran it (its results are in memory), false when no worker
   * had taken it, or one failed: the task is then withdrawn and the caller does the work itself. Either way the
   * task is over on return.
   */
  collect(): boolean {
    const ctl = this.ctl;
    if (Atomics.compareExchange(ctl, BG, BG_POSTED, BG_NONE) === BG_POSTED) return false;
    this.block(BG, BGWAIT, BG_RUNNING, false, 'a background task');
    const state = Atomics.exchange(ctl, BG, BG_NONE);
    return state === BG_DONE;
  }

  /** Wait for the posted background task, if any, and drop its result. */
  cancel(): void {
    const ctl = this.ctl;
    if (Atomics.load(ctl, BG) !== BG_NONE) this.collect();
  }

  /** Wait for chunks claimed by workers: spin a little, then sleep until the last one notifies. */
  private waitDone(n: number): void {
    this.block(DONE, MAINWAIT, n, true, 'a job');
  }

  /**
   * Block until control slot `slot` reaches `target` (`reach`: its value ≥ target) or leaves it (its value ≠
   * target): spin a little, then sleep with `flag` set, so that the worker that changes the slot notifies. A worker
   * that makes no progress for a minute has stopped: the pool is not used again.
   */
  private block(slot: number, flag: number, target: number, reach: boolean, what: string): void {
    const ctl = this.ctl;
    for (let s = 0; s < 20000; s++) {
      const v = Atomics.load(ctl, slot);
      if (reach ? v >= target : v !== target) return;
    }
    let last = Atomics.load(ctl, slot), since = Date.now();
    while (reach ? last < target : last === target) {
      Atomics.store(ctl, flag, 1);
      Atomics.wait(ctl, slot, last, 100);
      Atomics.store(ctl, flag, 0);
      const v = Atomics.load(ctl, slot);
      if (v !== last) { last = v; since = Date.now(); continue; }
      if (Date.now() - since > 60000) {
        this.broken = true;
        throw new Error(`wasm backend: the thread pool stalled (a worker stopped during ${what})`);
      }
    }
  }

  /** Stop the workers (tests; the process exits without this since workers are unref'd). */
  async terminate(): Promise<void> {
    if (!this.broken) this.cancel();
    const ws = this.workers;
    this.workers = [];
    this.broken = true;
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
