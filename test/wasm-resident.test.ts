/**
 * Resident arrays on the wasm backend (`allocateResident`): arrays that live in the shared WebAssembly memory, which
 * kernels take in place. Every kernel is run three ways, on 1 and 2 threads: operands and outputs as ordinary arrays
 * (the copying path), all resident, and mixed; the three agree bit for bit, and with the reference backend to float32
 * tolerance. Then operands that alias or overlap (inside one resident block, against the same aliasing through the
 * copying path), the allocator (zeroing, budget, freeing by the garbage collector and reuse), and views made before
 * the memory grew.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setWasmOptions, wasmBackend, wasmInfo } from '../src/backend/wasm/index.js';
import { cpuBackend } from '../src/backend/cpu/index.js';
import { Space } from '../src/backend/wasm/arena.js';
import { ResidentHeap } from '../src/backend/wasm/resident.js';
import type { Backend, BinaryOp, GemmArgs, UnaryOp, View } from '../src/backend/backend.js';
import type { AdamStepArgs, SgdStepArgs } from '../src/optim/fused.js';

const wasm = wasmBackend as Backend & { sgdStep(s: SgdStepArgs): void; adamStep(s: AdamStepArgs): void };
const initial = wasmInfo();
after(() => {
  if (initial) setWasmOptions(initial);
});

/** Every call on wasm, however small; products and optimizer steps on resident operands through the pool when threads = 2. */
function forceWasm(threads: number): void {
  setWasmOptions({
    minElements: 0, gemmMinFlops: 0, gemmParallelFlops: threads > 1 ? 0 : Infinity, optimizerParallelElements: threads > 1 ? 0 : Infinity,
    threads, yieldWhenBusy: false,
  });
}

const resident = (n: number): Float32Array => {
  const r = wasm.allocateResident!('float32', n);
  assert.ok(r instanceof Float32Array, 'allocateResident returned null');
  return r;
};

/** How a case makes each of its arrays from initial values: ordinary, resident, or alternately. */
type Make = (values: ArrayLike<number>) => Float32Array;
const plain: Make = (v) => Float32Array.from(v);
const inMemory: Make = (v) => {
  if (v.length === 0) return new Float32Array(0);
  const r = resident(v.length);
  r.set(v);
  return r;
};
const mixed = (): Make => { let k = 0; return (v) => (k++ % 2 === 0 ? inMemory(v) : plain(v)); };

/** Deterministic values in [lo, hi). */
function values(n: number, seed: number, lo = -2, hi = 2): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 16777216) * (hi - lo);
  });
}
const zeros = (n: number): number[] => new Array<number>(n).fill(0);
const view = (data: Float32Array, shape: number[], offset = 0, strides?: number[]): View => {
  const s = strides ?? shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  return { data, shape, strides: s, offset };
};

/**
 * The reference: the cpu backend, with the fused kernels it lacks written out here in float64 (contiguous operands;
 * the ops and optimizers compose them from reference kernels, which the op and optimizer tests compare).
 */
const at = (v: View, i: number): number => v.data[v.offset + i * (v.strides[0] ?? 1)]!;
const reference = {
  ...cpuBackend,
  activationGrad(op: 'sigmoid' | 'tanh', y: View, g: View, out: Float32Array): boolean {
    for (let i = 0; i < out.length; i++) out[i] = op === 'sigmoid' ? at(g, i) * at(y, i) * (1 - at(y, i)) : at(g, i) * (1 - at(y, i) ** 2);
    return true;
  },
  bceForward(p: View, y: View, out: Float32Array): number {
    for (let i = 0; i < out.length; i++) out[i] = -(at(y, i) * Math.max(Math.log(at(p, i)), -100) + (1 - at(y, i)) * Math.max(Math.log(1 - at(p, i)), -100));
    return -1;
  },
  bceBackward(p: View, y: View, g: View, out: Float32Array): boolean {
    for (let i = 0; i < out.length; i++) out[i] = (at(g, i) * (at(p, i) - at(y, i))) / Math.max(at(p, i) * (1 - at(p, i)), 1e-12);
    return true;
  },
  softmaxLastDim(x: View, log: boolean, out: Float32Array): boolean {
    const C = x.shape[x.shape.length - 1]!;
    for (let r = 0; r < out.length / C; r++) {
      const row = Array.from({ length: C }, (_, j) => x.data[x.offset + r * C + j]!), m = Math.max(...row);
      const s = row.reduce((q, v) => q + Math.exp(v - m), 0);
      row.forEach((v, j) => { out[r * C + j] = log ? v - m - Math.log(s) : Math.exp(v - m) / s; });
    }
    return true;
  },
  sgdStep(s: SgdStepArgs): void {
    const { param: p, grad: g, momentumBuffer: buf } = s;
    for (let i = 0; i < s.n; i++) {
      let d = (s.maximize ? -g[i]! : g[i]!) + s.weightDecay * p[i]!;
      if (s.momentum !== 0 && buf) {
        buf[i] = s.firstStep ? d : s.momentum * buf[i]! + (1 - s.dampening) * d;
        d = s.nesterov ? d + s.momentum * buf[i]! : buf[i]!;
      }
      p[i] = p[i]! - s.lr * d;
    }
  },
  adamStep(s: AdamStepArgs): void {
    const { param: p, grad: g, expAvg: m, expAvgSq: v, maxExpAvgSq: vmax } = s;
    const bc1 = 1 - s.beta1 ** s.step, bc2 = Math.sqrt(1 - s.beta2 ** s.step);
    for (let i = 0; i < s.n; i++) {
      let gi = s.maximize ? -g[i]! : g[i]!, pi = p[i]!;
      if (s.decoupled) pi *= 1 - s.lr * s.weightDecay;
      else gi += s.weightDecay * pi;
      m[i] = s.beta1 * m[i]! + (1 - s.beta1) * gi;
      v[i] = s.beta2 * v[i]! + (1 - s.beta2) * gi * gi;
      let vh = v[i]!;
      if (vmax) vh = vmax[i] = Math.max(vmax[i]!, vh);
      p[i] = pi - (m[i]! / (Math.sqrt(vh) / bc2 + s.eps)) * (s.lr / bc1);
    }
  },
} as unknown as typeof wasm;

/** A case: builds its arrays with `make`, runs kernels of `k`, returns the arrays to compare. */
type Case = (make: Make, k: typeof wasm) => Float32Array[];

function sameBits(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    const u = new Uint32Array(Float32Array.from(x).buffer), v = new Uint32Array(Float32Array.from(b[i]!).buffer);
    for (let j = 0; j < u.length; j++) {
      if (u[j] !== v[j] && !(Number.isNaN(x[j]) && Number.isNaN(b[i]![j]))) assert.fail(`${what}: array ${i} [${j}]: ${x[j]} vs ${b[i]![j]}`);
    }
  });
}

function close(a: Float32Array[], b: Float32Array[], what: string, rtol = 2e-5, atol = 2e-5): void {
  a.forEach((x, i) => {
    for (let j = 0; j < x.length; j++) {
      const p = x[j]!, q = b[i]![j]!;
      if (Number.isNaN(p) && Number.isNaN(q)) continue;
      if (p === q) continue;
      if (!(Math.abs(p - q) <= atol + rtol * Math.abs(q))) assert.fail(`${what}: array ${i} [${j}]: wasm ${p}, reference ${q}`);
    }
  });
}

/** The case with ordinary, resident and mixed arrays on wasm: bit-identical; and against the reference. */
function check(c: Case, what: string, tol?: { rtol: number; atol: number }): void {
  const copied = c(plain, wasm);
  sameBits(copied, c(inMemory, wasm), `${what} (resident)`);
  sameBits(copied, c(mixed(), wasm), `${what} (mixed)`);
  close(copied, c(plain, reference), what, tol?.rtol, tol?.atol);
}

const snap = (...xs: Float32Array[]): Float32Array[] => xs.map((x) => Float32Array.from(x));

function gemmCase(o: {
  batch?: number; M: number; N: number; K: number; transA?: boolean; transB?: boolean; aOffset?: number; bOffset?: number;
  pad?: number; broadcastA?: boolean; broadcastB?: boolean;
}): Case {
  const batch = o.batch ?? 1, transA = !!o.transA, transB = !!o.transB, pad = o.pad ?? 0;
  const lda = (transA ? o.M : o.K) + pad, ldb = (transB ? o.K : o.N) + pad;
  const aMat = (transA ? o.K : o.M) * lda, bMat = (transB ? o.N : o.K) * ldb;
  const abs = o.broadcastA ? 0 : aMat, bbs = o.broadcastB ? 0 : bMat;
  const aOffset = o.aOffset ?? 0, bOffset = o.bOffset ?? 0;
  return (make, k) => {
    const a = make(values(aOffset + abs * (batch - 1) + aMat, 1)), b = make(values(bOffset + bbs * (batch - 1) + bMat, 2));
    const c = make(values(batch * o.M * o.N, 3)); // garbage in C: every entry must be written
    k.gemm({ batch, M: o.M, N: o.N, K: o.K, a, aOffset, lda, transA, aBatchStride: abs, b, bOffset, ldb, transB, bBatchStride: bbs, c });
    return snap(c, a, b);
  };
}

const UNARY: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sigmoid', 'tanh', 'relu', 'reciprocal', 'floor', 'ceil', 'round'];
const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'];

for (const threads of [1, 2]) {
  describe(`kernels with resident operands agree with the copying path and the reference (${threads} thread${threads > 1 ? 's' : ''})`, () => {
    test('gemm: transposes, odd sizes, offsets, leading dims, batches', () => {
      forceWasm(threads);
      for (const [M, N, K] of [[1, 1, 1], [5, 7, 3], [13, 9, 300], [64, 100, 784], [100, 784, 64], [33, 17, 129]] as const) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const tol = { rtol: 1e-5 * Math.sqrt(K), atol: 1e-5 * Math.sqrt(K) };
            check(gemmCase({ M, N, K, transA, transB }), `gemm ${M}x${K}x${N} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`, tol);
          }
        }
      }
      const tol = { rtol: 1e-4, atol: 1e-4 };
      check(gemmCase({ batch: 3, M: 6, N: 10, K: 140, aOffset: 5, bOffset: 3, pad: 3 }), 'gemm batched, offsets, padded rows', tol);
      check(gemmCase({ batch: 3, M: 9, N: 5, K: 7, transA: true, transB: true, broadcastA: true }), 'gemm batched, A broadcast', tol);
      check(gemmCase({ batch: 2, M: 12, N: 20, K: 200, transB: true, broadcastB: true, pad: 1 }), 'gemm batched, B broadcast', tol);
      check(gemmCase({ M: 4, N: 6, K: 0 }), 'gemm with K = 0', tol);
    });

    test('unary ops over odd lengths and offsets', () => {
      forceWasm(threads);
      for (const op of UNARY) {
        for (const n of [1, 3, 4, 103]) {
          check((make, k) => {
            const x = make(values(n + 2, 4, -3, 3)), out = make(zeros(n));
            k.unary(op, view(x, [n], 2), out);
            return snap(out, x);
          }, `${op} n=${n}`, { rtol: 1e-5, atol: 1e-6 });
        }
      }
    });

    test('binary ops: full, row, column and scalar operands, more than two merged dims', () => {
      forceWasm(threads);
      const patterns: Array<{ name: string; a: [number, number[]]; b: [number, number[]]; shape: number[] }> = [
        { name: 'full', shape: [5, 7], a: [35, [7, 1]], b: [35, [7, 1]] },
        { name: 'row', shape: [5, 7], a: [35, [7, 1]], b: [7, [0, 1]] },
        { name: 'column', shape: [5, 7], a: [5, [1, 0]], b: [35, [7, 1]] },
        { name: 'scalar', shape: [5, 7], a: [35, [7, 1]], b: [1, [0, 0]] },
        { name: '3 dims', shape: [3, 4, 5], a: [60, [20, 5, 1]], b: [15, [5, 0, 1]] },
        { name: 'long row', shape: [103], a: [103, [1]], b: [1, [0]] },
      ];
      for (const op of BINARY) {
        for (const p of patterns) {
          check((make, k) => {
            const a = make(values(p.a[0] + 1, 5)), b = make(values(p.b[0], 6, 0.5, 3)), n = p.shape.reduce((q, d) => q * d, 1);
            const out = make(zeros(n));
            k.binary(op, view(a, p.shape, 1, p.a[1]), view(b, p.shape, 0, p.b[1]), out);
            return snap(out, a, b);
          }, `${op} ${p.name}`, { rtol: 1e-6, atol: 1e-7 });
        }
      }
    });

    test('sums over rows and columns', () => {
      forceWasm(threads);
      for (const [outer, n, inner] of [[1, 103, 1], [6, 17, 1], [4, 9, 13], [3, 5, 4]]) {
        check((make, k) => {
          const x = make(values(outer * n * inner + 3, 7)), out = make(zeros(outer * inner));
          k.reduce('sum', x, 3, outer, n, inner, out);
          return snap(out, x);
        }, `sum [${outer}, ${n}, ${inner}]`, { rtol: 1e-5, atol: 1e-5 });
      }
    });

    test('fused kernels: activation gradients, BCE, softmax', () => {
      forceWasm(threads);
      for (const n of [3, 64, 103]) {
        for (const op of ['sigmoid', 'tanh'] as const) {
          check((make, k) => {
            const y = make(values(n, 8, 0, 1)), g = make(values(n, 9)), out = make(zeros(n));
            assert.ok(k.activationGrad!(op, view(y, [n]), view(g, [n]), out));
            return snap(out, y, g);
          }, `${op} grad n=${n}`);
        }
        check((make, k) => {
          const p = make(values(n, 10, 0.01, 0.99)), y = make(values(n, 11, 0, 1)), out = make(zeros(n));
          assert.equal(k.bceForward!(view(p, [n]), view(y, [n]), out), -1);
          return snap(out, p, y);
        }, `bce forward n=${n}`);
        for (const gScalar of [true, false]) {
          check((make, k) => {
            const p = make(values(n, 12, 0.01, 0.99)), y = make(values(n, 13, 0, 1)), g = make(values(gScalar ? 1 : n, 14));
            const out = make(zeros(n));
            assert.ok(k.bceBackward!(view(p, [n]), view(y, [n]), gScalar ? view(g, [n], 0, [0]) : view(g, [n]), out));
            return snap(out, p, y, g);
          }, `bce backward n=${n}${gScalar ? ', scalar gradient' : ''}`);
        }
      }
      for (const log of [false, true]) {
        for (const [R, C] of [[1, 3], [6, 13], [64, 10]]) {
          check((make, k) => {
            const x = make(values(R * C, 15, -5, 5)), out = make(zeros(R * C));
            assert.ok(k.softmaxLastDim!(view(x, [R, C]), log, out));
            return snap(out, x);
          }, `${log ? 'log-' : ''}softmax [${R}, ${C}]`);
        }
      }
    });

    test('fused optimizer steps: SGD and Adam, every option (split between the threads on 2)', () => {
      forceWasm(threads);
      for (const n of [5, 103, 1037]) {
        for (const [momentum, nesterov, wd, firstStep] of [[0, false, 0, true], [0.9, false, 0.01, true], [0.9, true, 0, false], [0.5, false, 0.1, false]] as const) {
          check((make, k) => {
            const param = make(values(n, 16)), grad = make(values(n, 17)), buf = make(values(n, 18));
            k.sgdStep({ n, param, grad, momentumBuffer: momentum ? buf : null, lr: 0.1, momentum, dampening: 0.1, weightDecay: wd, nesterov, maximize: false, firstStep });
            return snap(param, grad, buf);
          }, `sgd n=${n} momentum ${momentum}${nesterov ? ' nesterov' : ''} wd ${wd}${firstStep ? ' first' : ''}`);
        }
        for (const [amsgrad, decoupled, wd] of [[false, false, 0], [true, false, 0.01], [false, true, 0.1]] as const) {
          check((make, k) => {
            const param = make(values(n, 19)), grad = make(values(n, 20)), m = make(values(n, 21)), v = make(values(n, 22, 0, 1));
            const vmax = make(values(n, 23, 0, 1));
            k.adamStep({ n, param, grad, expAvg: m, expAvgSq: v, maxExpAvgSq: amsgrad ? vmax : null, amsgrad, step: 3, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, decoupled, maximize: false });
            return snap(param, grad, m, v, vmax);
          }, `adam n=${n}${amsgrad ? ' amsgrad' : ''}${decoupled ? ' decoupled' : ''}`);
        }
      }
    });

    test('gatherRowsU8 and gather into resident outputs', () => {
      forceWasm(threads);
      const row = 7, src = Uint8Array.from({ length: 20 * row }, (_, i) => (i * 37) % 256), rows = Int32Array.from([3, 0, 19, 3, 8]);
      const table = Float32Array.from({ length: 256 }, (_, i) => i / 255 - 0.5);
      check((make, k) => {
        const out = make(zeros(rows.length * row)), t = make(table);
        k.gatherRowsU8(src, row, rows, t, out);
        return snap(out);
      }, 'gatherRowsU8');
      const srcIn = wasm.allocateResident!('bool', src.length) as Uint8Array;
      srcIn.set(src);
      const out = resident(rows.length * row), expected = new Float32Array(rows.length * row);
      wasm.gatherRowsU8(srcIn, row, rows, table, out);
      cpuBackend.gatherRowsU8(src, row, rows, table, expected);
      sameBits([out], [expected], 'gatherRowsU8 from resident bytes');
      check((make, k) => {
        const x = make(values(24, 24)), out = make(zeros(12));
        const index = { data: Int32Array.from([2, 0, 3]), shape: [4, 3], strides: [0, 1], offset: 0 };
        k.gather(view(x, [4, 6]), 1, index as unknown as View, out);
        return snap(out);
      }, 'gather');
    });
  });
}

// ---------------------------------------------------------------- batches gathered ahead by a worker

describe('prefetchRowsU8: a worker gathers the next batch, gatherRowsU8 delivers it', () => {
  const row = 784, count = 300;
  const src = Uint8Array.from({ length: count * row }, (_, i) => (i * 131 + (i >> 7)) % 256);
  const table = Float32Array.from({ length: 256 }, (_, i) => (i / 255 - 0.1307) / 0.3081);
  const rowsOf = (seed: number, n = 64): Int32Array => Int32Array.from({ length: n }, (_, k) => (k * 97 + seed * 31) % count);
  const expected = (rows: Int32Array): Float32Array => {
    const out = new Float32Array(rows.length * row);
    cpuBackend.gatherRowsU8(src, row, rows, table, out);
    return out;
  };
  /** A product big enough for the pool: the worker takes the task after its part of it. */
  const product = (): void => {
    const a = resident(64 * 784), b = resident(784 * 100), c = resident(64 * 100);
    a.fill(0.5); b.fill(0.25);
    wasm.gemm({ batch: 1, M: 64, N: 100, K: 784, a, aOffset: 0, lda: 784, transA: false, aBatchStride: 0, b, bOffset: 0, ldb: 100, transB: false, bBatchStride: 0, c });
    assert.equal(c[0], 0.5 * 0.25 * 784);
  };

  test('the same rows: the worker\'s result, bit for bit the reference, with or without a job in between', () => {
    setWasmOptions({ threads: 2, yieldWhenBusy: false, minElements: 64, gemmMinFlops: 0, gemmParallelFlops: 0 });
    const bytes = wasm.allocateResident!('bool', src.length) as Uint8Array;
    bytes.set(src);
    for (let b = 0; b < 12; b++) {
      const rows = rowsOf(b);
      assert.equal(wasm.prefetchRowsU8!(bytes, row, rows, table), true, 'prefetch taken');
      if (b % 3 !== 2) product(); // b % 3 === 2: no job, so the calling thread gathers them itself
      const out = new Float32Array(rows.length * row);
      wasm.gatherRowsU8(bytes, row, rows, table, out);
      sameBits([out], [expected(rows)], `batch ${b}`);
    }
    // into a resident output too
    const rows = rowsOf(99), out = resident(rows.length * row);
    wasm.prefetchRowsU8!(bytes, row, rows, table);
    product();
    wasm.gatherRowsU8(bytes, row, rows, table, out);
    sameBits([out], [expected(rows)], 'resident output');
  });

  test('other rows, another table, or a second prefetch: the stale request is dropped, results stay right', () => {
    setWasmOptions({ threads: 2, yieldWhenBusy: false, minElements: 64, gemmMinFlops: 0, gemmParallelFlops: 0 });
    const bytes = wasm.allocateResident!('bool', src.length) as Uint8Array;
    bytes.set(src);
    const a = rowsOf(1), b = rowsOf(2), out = new Float32Array(a.length * row);
    wasm.prefetchRowsU8!(bytes, row, a, table);
    product();
    wasm.gatherRowsU8(bytes, row, b, table, out);
    sameBits([out], [expected(b)], 'other rows');
    const table2 = table.map((v) => v * 2), twice = expected(a).map((v) => v * 2);
    wasm.prefetchRowsU8!(bytes, row, a, table);
    product();
    wasm.gatherRowsU8(bytes, row, a, table2, out);
    sameBits([out], [twice], 'another table');
    wasm.prefetchRowsU8!(bytes, row, a, table);
    wasm.prefetchRowsU8!(bytes, row, b, table);
    product();
    wasm.gatherRowsU8(bytes, row, b, table, out);
    sameBits([out], [expected(b)], 'second prefetch');
    // a shorter batch than the one staged before
    const c = rowsOf(3, 10), short = new Float32Array(10 * row);
    wasm.prefetchRowsU8!(bytes, row, c, table);
    product();
    wasm.gatherRowsU8(bytes, row, c, table, short);
    sameBits([short], [expected(c)], 'shorter batch');
  });

  test('with an out in wasm memory the worker decodes straight into it; a gatherRowsU8 into other storage copies from there', () => {
    setWasmOptions({ threads: 2, yieldWhenBusy: false, minElements: 64, gemmMinFlops: 0, gemmParallelFlops: 0 });
    const bytes = wasm.allocateResident!('bool', src.length) as Uint8Array;
    bytes.set(src);
    const rows = rowsOf(5), want = expected(rows), out = resident(rows.length * row);
    /** A prefetch into `into`, a product for the worker to take it after, then gatherRowsU8 into `to`: whether a worker delivered it. */
    const round = (into: Float32Array, to: Float32Array): boolean => {
      const before = wasmInfo()!.prefetchesDelivered;
      into.fill(NaN);
      assert.equal(wasm.prefetchRowsU8!(bytes, row, rows, table, into), true, 'prefetch taken');
      product();
      for (const until = performance.now() + 2; performance.now() < until;) { /* give the worker time to take it */ }
      wasm.gatherRowsU8(bytes, row, rows, table, to);
      sameBits([to], [want], to === into ? 'into the same out' : 'into other storage');
      return wasmInfo()!.prefetchesDelivered > before;
    };
    // retried: on a busy machine the calling thread may withdraw the task before a worker takes it
    let inPlace = false, elsewhere = false;
    for (let k = 0; k < 100 && !inPlace; k++) inPlace = round(out, out);
    assert.ok(inPlace, 'no batch came from a worker');
    for (let k = 0; k < 100 && !elsewhere; k++) elsewhere = round(out, new Float32Array(rows.length * row));
    if (elsewhere) sameBits([out], [want], 'the worker wrote the given out'); // and the fresh array got a copy of it
    // an out outside wasm memory is not written by the worker: the rows are staged and copied, as without one
    const plain = new Float32Array(rows.length * row);
    round(plain, plain);
  });

  test('declined without workers or for bytes outside wasm memory; a thread-count change drops the request', () => {
    setWasmOptions({ threads: 2, yieldWhenBusy: false, minElements: 64 });
    assert.equal(wasm.prefetchRowsU8!(src, row, rowsOf(1), table), false, 'ordinary bytes');
    const bytes = wasm.allocateResident!('bool', src.length) as Uint8Array;
    bytes.set(src);
    assert.equal(wasm.prefetchRowsU8!(bytes, row, rowsOf(1), table), true);
    setWasmOptions({ threads: 1 });
    assert.equal(wasm.prefetchRowsU8!(bytes, row, rowsOf(2), table), false, 'one thread');
    const rows = rowsOf(1), out = new Float32Array(rows.length * row);
    wasm.gatherRowsU8(bytes, row, rows, table, out);
    sameBits([out], [expected(rows)], 'after the change');
  });
});

// ---------------------------------------------------------------- aliasing

/**
 * Arrays carved out of one block (resident, or one ordinary array for the copying path): pieces [start, length).
 * The copying path reads every input before it writes an output, whatever overlaps: the resident path must too.
 */
function carve(make: Make, total: number, seed: number, pieces: Array<[number, number]>): Float32Array[] {
  const block = make(values(total, seed, 0.05, 0.95));
  return pieces.map(([s, n]) => block.subarray(s, s + n));
}

function checkAliased(c: Case, what: string): void {
  sameBits(c(plain, wasm), c(inMemory, wasm), what);
}

for (const threads of [1, 2]) {
  test(`aliasing and overlapping operands give what the copying path gives (${threads} thread${threads > 1 ? 's' : ''})`, () => {
    forceWasm(threads);
    const n = 103;
    for (const [xs, os] of [[0, 0], [0, 1], [1, 0], [0, 4], [5, 0]]) {
      checkAliased((make, k) => {
        const [x, out] = carve(make, n + 8, 1, [[xs, n], [os, n]]);
        k.unary('exp', view(x!, [n]), out!);
        return snap(out!, x!);
      }, `unary, x at ${xs}, out at ${os}`);
      checkAliased((make, k) => {
        const [a, b, out] = carve(make, n + 8, 2, [[xs, n], [3, n], [os, n]]);
        k.binary('sub', view(a!, [n]), view(b!, [n]), out!);
        return snap(out!);
      }, `binary, a at ${xs}, out at ${os}`);
      checkAliased((make, k) => {
        const [y, g, out] = carve(make, n + 8, 3, [[xs, n], [2, n], [os, n]]);
        k.activationGrad!('sigmoid', view(y!, [n]), view(g!, [n]), out!);
        return snap(out!);
      }, `activation gradient, y at ${xs}, out at ${os}`);
      checkAliased((make, k) => {
        const [p, y, out] = carve(make, n + 8, 4, [[xs, n], [1, n], [os, n]]);
        k.bceForward!(view(p!, [n]), view(y!, [n]), out!);
        k.bceBackward!(view(y!, [n]), view(p!, [n]), view(out!, [n]), out!);
        return snap(out!);
      }, `bce, p at ${xs}, out at ${os}`);
      for (const log of [false, true]) {
        checkAliased((make, k) => {
          const [x, out] = carve(make, 6 * 13 + 8, 5, [[xs, 6 * 13], [os, 6 * 13]]);
          k.softmaxLastDim!(view(x!, [6, 13]), log, out!);
          return snap(out!);
        }, `${log ? 'log-' : ''}softmax, x at ${xs}, out at ${os}`);
      }
      checkAliased((make, k) => {
        const [x, out] = carve(make, 60 + 8, 6, [[xs, 60], [os, 12]]);
        k.reduce('sum', x!, 0, 3, 5, 4, out!);
        return snap(out!);
      }, `sum, x at ${xs}, out at ${os}`);
      checkAliased((make, k) => {
        const [a, b, c] = carve(make, 400, 7, [[xs, 6 * 20], [150, 20 * 9], [os, 6 * 9]]);
        k.gemm({ batch: 1, M: 6, N: 9, K: 20, a: a!, aOffset: 0, lda: 20, transA: false, aBatchStride: 0, b: b!, bOffset: 0, ldb: 9, transB: false, bBatchStride: 0, c: c! });
        return snap(c!);
      }, `gemm, A at ${xs}, C at ${os}`);
      checkAliased((make, k) => {
        const [param, grad, buf] = carve(make, n + 8, 8, [[xs, n], [os, n], [7, n]]);
        k.sgdStep({ n, param: param!, grad: grad!, momentumBuffer: buf!, lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.1, nesterov: false, maximize: false, firstStep: false });
        return snap(param!, buf!);
      }, `sgd, param at ${xs}, grad at ${os}`);
      checkAliased((make, k) => {
        const [param, grad, m, v] = carve(make, n + 8, 9, [[xs, n], [6, n], [os, n], [8, n]]);
        k.adamStep({ n, param: param!, grad: grad!, expAvg: m!, expAvgSq: v!, maxExpAvgSq: null, amsgrad: false, step: 2, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, maximize: false });
        return snap(param!, m!, v!);
      }, `adam, param at ${xs}, expAvg at ${os}`);
    }
    // a row vector broadcast against the output it overlaps, and an operand used twice
    checkAliased((make, k) => {
      const [out, b] = carve(make, 40, 10, [[0, 35], [0, 7]]);
      k.binary('add', view(out!, [5, 7]), view(b!, [5, 7], 0, [0, 1]), out!);
      return snap(out!);
    }, 'binary, out over its own broadcast row operand');
    checkAliased((make, k) => {
      const [x] = carve(make, n, 11, [[0, n]]);
      k.binary('mul', view(x!, [n]), view(x!, [n]), x!);
      return snap(x!);
    }, 'binary, x·x into x');
  });
}

// ---------------------------------------------------------------- the allocator

test('allocateResident: zeroed arrays of each dtype, null where it cannot; cpu has none', () => {
  assert.equal(cpuBackend.allocateResident, undefined);
  const f = resident(10);
  f.fill(7);
  for (const [dtype, Ctor] of [['float32', Float32Array], ['float64', Float64Array], ['int32', Int32Array], ['bool', Uint8Array]] as const) {
    const a = wasm.allocateResident!(dtype, 13);
    assert.ok(a instanceof Ctor, dtype);
    assert.equal(a.length, 13);
    assert.equal(a.byteOffset % 16, 0);
    assert.ok(a.every((v) => v === 0), `${dtype}: not zeroed`);
  }
  for (const size of [0, -1, 1.5, NaN]) assert.equal(wasm.allocateResident!('float32', size), null, `size ${size}`);
  const live = wasmInfo()!.residentBytes;
  try {
    setWasmOptions({ residentBudget: live + 65536 });
    assert.equal(wasm.allocateResident!('float32', 32768), null, 'past the budget');
    assert.ok(wasm.allocateResident!('float32', 1000), 'within the budget');
  } finally {
    setWasmOptions({ residentBudget: initial!.residentBudget });
  }
  assert.ok(f.every((v) => v === 7), 'allocating others changed a live array');
});

test('resident arrays are freed when collected, and their memory reused', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async (until: () => boolean): Promise<void> => {
    for (let i = 0; i < 50 && !until(); i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  for (let i = 0; i < 5; i++) { // let the arrays of the tests before go first
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  const keep = resident(1000);
  keep.fill(3);
  const base = wasmInfo()!.residentBytes;
  const fill = (): void => {
    for (let i = 0; i < 64; i++) resident(4096 + i).fill(1);
  };
  fill();
  assert.ok(wasmInfo()!.residentBytes >= base + 64 * 4096 * 4);
  await settle(() => wasmInfo()!.residentBytes <= base);
  assert.ok(wasmInfo()!.residentBytes <= base, 'collected arrays were not freed');
  const heapBytes = wasmInfo()!.residentHeapBytes;
  fill();
  assert.equal(wasmInfo()!.residentHeapBytes, heapBytes, 'freed memory was not reused');
  assert.ok(keep.every((v) => v === 3), 'a live array was overwritten');
});

test('the heap: first fit, freed neighbours merge, arena regions join it', () => {
  const space = new Space(new WebAssembly.Memory({ initial: 1, maximum: 64, shared: true }));
  const heap = new ResidentHeap(space);
  const a = heap.alloc(100, Infinity), b = heap.alloc(200, Infinity), c = heap.alloc(4, Infinity);
  assert.equal(a, 65536, 'the first block starts where the memory was grown');
  assert.ok(b > a && c > b && b % 16 === 0 && c % 16 === 0);
  assert.equal(heap.heapBytes, 1 << 20);
  heap.release(b);
  assert.equal(heap.alloc(200, Infinity), b, 'a freed block is reused');
  heap.release(a); heap.release(b); heap.release(c);
  assert.equal(heap.liveBytes, 0);
  assert.equal(heap.alloc((1 << 20) - 32, Infinity), a, 'freed blocks merged into one');
  assert.equal(heap.alloc(16, (1 << 20) + 16), -1, 'past the budget');
  heap.addRegion(1000, 4096);
  const d = heap.alloc(1000, Infinity);
  assert.equal(d, 1008, 'a region given by the arena (16-byte aligned) is used');
  assert.equal(space.bytes, 65536 + (1 << 20), 'no growth needed');
  assert.throws(() => space.grow(65 * 65536), RangeError);
  assert.equal(heap.alloc(64 << 20, Infinity), -1, 'past the memory maximum');
});

test('views made before the memory grew stay resident, and kernels take them in place', () => {
  forceWasm(2);
  const before = resident(64 * 50);
  before.set(values(before.length, 30));
  const copy = Float32Array.from(before);
  // grow the memory twice: a large resident array (the heap grows), then a call larger than the scratch arena (it
  // moves past the heap and leaves its old region to it)
  const big = resident((4 << 20) + (wasmInfo()!.residentHeapBytes >> 2)); // more bytes than the heap holds, free or not
  assert.notEqual(big.buffer, before.buffer, 'the memory did not grow');
  const heapBefore = wasmInfo()!.residentHeapBytes;
  const K = 1024, N = 64, M = Math.ceil(wasmInfo()!.arenaBytes / (4 * K)) + 1;
  const a = Float32Array.from(values(M * K, 31)), b = Float32Array.from(values(K * N, 32)), c = new Float32Array(M * N);
  wasm.gemm({ batch: 1, M, N, K, a, aOffset: 0, lda: K, transA: false, aBatchStride: 0, b, bOffset: 0, ldb: N, transB: false, bBatchStride: 0, c });
  wasm.unary('neg', view(copy, [3]), resident(3)); // a call after the move (in the shared arena) hands the old region over
  assert.ok(wasmInfo()!.residentHeapBytes > heapBefore, 'the arena did not leave its region to the heap');
  sameBits([before], [copy], 'a resident array after the memory grew');
  const after = resident(64 * 50);
  const expected = new Float32Array(64 * 64), got = resident(64 * 64);
  const args = (x: Float32Array, y: Float32Array, out: Float32Array): GemmArgs => ({ batch: 1, M: 64, N: 64, K: 50, a: x, aOffset: 0, lda: 50, transA: false, aBatchStride: 0, b: y, bOffset: 0, ldb: 50, transB: true, bBatchStride: 0, c: out });
  after.set(copy);
  wasm.gemm(args(before, after, got));
  cpuBackend.gemm(args(copy, copy, expected));
  close([got], [expected], 'gemm on views from before and after the memory grew', 1e-5, 1e-5);
  wasm.unary('sigmoid', view(before, [before.length]), before);
  const sig = new Float32Array(copy.length);
  cpuBackend.unary('sigmoid', view(copy, [copy.length]), sig);
  close([before], [sig], 'in place on a view from before the memory grew', 1e-6, 1e-7);
  big.fill(0);
});

test('products on resident arrays do not depend on the thread count', () => {
  const run = (threads: number): Float32Array[] => {
    forceWasm(threads);
    return gemmCase({ M: 64, N: 100, K: 784, transB: true })(inMemory, wasm).concat(gemmCase({ M: 100, N: 784, K: 64, transA: true })(inMemory, wasm));
  };
  sameBits(run(1), run(2), 'gemm, 1 vs 2 threads');
});
