/**
 * The wasm backend against the reference: the shared op case table (forward, backward, double backward) on one
 * thread and through the worker pool, then the kernels' own cases: gemm over odd shapes, every transpose and batch
 * layout and sliced operands; elementwise ops on special values and broadcast patterns; sums; the fused optimizer
 * steps; the pool's determinism, that it never keeps a process alive, and that the scratch arena does not grow.
 * Size thresholds are set to 0 so that every call, however small, runs the wasm kernels.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type Tensor, Generator, autograd, compile, data, getBackend, listBackends, nn, noGrad, optim, randperm, setBackend, tensor, zeros,
} from '../src/index.js';
import { setWasmOptions, timeWasmProducts, wasmBackend, wasmInfo, wasmUnavailableReason } from '../src/backend/wasm/index.js';
import { cpuBackend } from '../src/backend/cpu/index.js';
import { isResident } from '../src/backend/backend.js';
import { FILL_MIN_BYTES, copyArray, fastSharedCopy } from '../src/backend/wasm/bytes.js';
import { G_NTI, G_NTJ, G_TILES, describeGemm } from '../src/backend/wasm/layout.js';
import { runOpCasesAgainstReference } from './op-cases.js';
import { assertClose } from './helpers/assert.js';
import { onBackend } from './helpers/backend.js';

const root = fileURLToPath(new URL('..', import.meta.url));

test('the wasm backend is built and registered', () => {
  assert.ok(wasmBackend, `wasm backend unavailable: ${wasmUnavailableReason} (run \`npm run build\`)`);
  assert.ok(listBackends().includes('wasm'));
  assert.equal(wasmInfo()!.shared, true, 'the shared-memory build (threads) did not load');
});

const initial = wasmInfo();
after(() => {
  if (initial) setWasmOptions(initial);
});

/** Every kernel call on wasm, however small; `parallel` sends every product through the pool (2 threads). */
function forceWasm(parallel: boolean): void {
  setWasmOptions({ minElements: 0, gemmMinFlops: 0, gemmParallelFlops: parallel ? 0 : Infinity, threads: parallel ? 2 : 1, yieldWhenBusy: false });
}

/** fn's result on wasm and on the reference (fn gets a fresh seeded generator each time). */
function both(fn: (g: Generator) => Tensor): { wasm: Tensor; cpu: Tensor } {
  const on = (name: string): Tensor => onBackend(name, () => noGrad(() => fn(new Generator(11))));
  return { wasm: on('wasm'), cpu: on('cpu') };
}

function agree(fn: (g: Generator) => Tensor, tol: { rtol?: number; atol?: number }, what: string): void {
  const { wasm, cpu } = both(fn);
  assert.equal(wasm.dtype, cpu.dtype, `${what}: dtype`);
  assert.deepEqual(wasm.shape, cpu.shape, `${what}: shape`);
  assertClose(wasm, cpu, tol, what);
}

for (const parallel of [false, true]) {
  describe(`wasm matches the reference on the op case table (${parallel ? 'thread pool' : 'one thread'})`, () => {
    forceWasm(parallel);
    const results = runOpCasesAgainstReference('wasm', 'float32', { rtol: 1e-5, atol: 1e-6 });
    for (const r of results) test(r.name, () => assert.ok(r.ok, r.message));
  });
}

// ---------------------------------------------------------------- gemm

const randnT = (g: Generator, shape: number[]): Tensor => tensor(Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => g.normal()), { shape });

/** |a|·|b|: the scale of each product's rounding error (float32 sums of K terms). */
function gemmTol(K: number): { rtol: number; atol: number } {
  return { rtol: 2e-6 * Math.sqrt(K + 1), atol: 2e-6 * Math.sqrt(K + 1) };
}

/** n normal floats from seed. */
function gauss(n: number, seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.normal());
}

/** R × C normal floats whose runs of w along a row are zero (−0 among them) with probability p. */
function scattered(R: number, C: number, w: number, p: number, seed: number): Float32Array {
  const g = new Generator(seed), x = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    for (let c0 = 0; c0 < C; c0 += w) {
      const zero = g.random() < p;
      for (let c = c0; c < Math.min(C, c0 + w); c++) x[r * C + c] = zero ? ((r + c) % 3 ? 0 : -0) : g.normal();
    }
  }
  return x;
}

const f = Math.fround;

/**
 * C = Aᵀ·B (A K × M, B K × N, K ≤ 256) as the plain builds' broadcast kernel sums it, every k included: one float32
 * sum per element from +0, in k order, each product rounded first.
 */
function fullLoopTN(a: Float32Array, b: Float32Array, M: number, K: number, N: number): Float32Array {
  const c = new Float32Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s = f(s + f(a[k * M + i]! * b[k * N + j]!));
    c[i * N + j] = s;
  }
  return c;
}

/**
 * C = A·Bᵀ (A M × K, B N × K, K ≤ 1024) as the plain builds' dot kernel sums it, every k included: four lane sums
 * over the whole vectors from +0, added as (s0 + s2) + (s1 + s3), then the last K mod 4 terms.
 */
function fullLoopNT(a: Float32Array, b: Float32Array, M: number, K: number, N: number): Float32Array {
  const c = new Float32Array(M * N), kv = K & ~3;
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    const s = [0, 0, 0, 0];
    for (let k = 0; k < kv; k++) s[k & 3] = f(s[k & 3]! + f(a[i * K + k]! * b[j * K + k]!));
    let t = f(f(s[0]! + s[2]!) + f(s[1]! + s[3]!));
    for (let k = kv; k < K; k++) t = f(t + f(a[i * K + k]! * b[j * K + k]!));
    c[i * N + j] = t;
  }
  return c;
}

for (const parallel of [false, true]) {
  describe(`gemm: odd shapes, transposes, batches and slices (${parallel ? 'thread pool' : 'one thread'})`, () => {
    const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 33, 67];
    test('every transpose over odd sizes', () => {
      forceWasm(parallel);
      const pick = (i: number) => sizes[(i * 7) % sizes.length]!;
      for (let t = 0; t < 40; t++) {
        const M = pick(t), N = pick(t + 3), K = pick(t * 5 + 1);
        for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
          agree((g) => {
            const a = ta ? randnT(g, [K, M]).T : randnT(g, [M, K]);
            const b = tb ? randnT(g, [N, K]).T : randnT(g, [K, N]);
            return a.matmul(b);
          }, gemmTol(K), `[${M}, ${K}]${ta ? 'ᵀ' : ''} @ [${K}, ${N}]${tb ? 'ᵀ' : ''}`);
        }
      }
    });

    test('large and MLP-sized products, k longer than one block', () => {
      forceWasm(parallel);
      for (const [M, K, N] of [[64, 784, 100], [100, 64, 784], [64, 100, 10], [130, 1100, 70], [9, 2500, 3]]) {
        agree((g) => randnT(g, [M, K]).matmul(randnT(g, [N, K]).T), gemmTol(K), `NT ${M}x${K}x${N}`);
        agree((g) => randnT(g, [K, M]).T.matmul(randnT(g, [K, N])), gemmTol(K), `TN ${M}x${K}x${N}`);
        agree((g) => randnT(g, [M, K]).matmul(randnT(g, [K, N])), gemmTol(K), `NN ${M}x${K}x${N}`);
      }
      // long k: NN, TN and TT are transposed into the dot kernel's layout, batched and with a shared operand too
      agree((g) => randnT(g, [300, 20]).T.matmul(randnT(g, [33, 300]).T), gemmTol(300), 'TT, k = 300');
      agree((g) => randnT(g, [3, 9, 200]).matmul(randnT(g, [200, 11])), gemmTol(200), 'batched NN, shared B, k = 200');
      agree((g) => randnT(g, [2, 150, 10]).mT.matmul(randnT(g, [2, 150, 12])), gemmTol(150), 'batched TN, k = 150');
      agree((g) => randnT(g, [2, 150, 10]).mT.matmul(randnT(g, [2, 12, 150]).mT), gemmTol(150), 'batched TT, k = 150');
    });

    test('batched, with a broadcast batch and a shared 2-D operand', () => {
      forceWasm(parallel);
      agree((g) => randnT(g, [3, 5, 7]).matmul(randnT(g, [3, 7, 6])), gemmTol(7), 'batched NN');
      agree((g) => randnT(g, [3, 5, 7]).matmul(randnT(g, [3, 6, 7]).mT), gemmTol(7), 'batched NT');
      agree((g) => randnT(g, [3, 7, 5]).mT.matmul(randnT(g, [3, 7, 6])), gemmTol(7), 'batched TN');
      agree((g) => randnT(g, [3, 7, 5]).mT.matmul(randnT(g, [3, 6, 7]).mT), gemmTol(7), 'batched TT');
      agree((g) => randnT(g, [2, 3, 5, 9]).matmul(randnT(g, [9, 4])), gemmTol(9), 'shared 2-D right operand');
      agree((g) => randnT(g, [2, 1, 5, 9]).matmul(randnT(g, [3, 9, 4])), gemmTol(9), 'broadcast batch');
      agree((g) => randnT(g, [4, 9]).matmul(randnT(g, [2, 3, 9]).mT), gemmTol(9), 'shared 2-D left operand, Bᵀ');
    });

    test('sliced operands (offsets, leading dimensions wider than the matrix)', () => {
      forceWasm(parallel);
      agree((g) => randnT(g, [20, 30]).slice(1, 3, 20).slice(0, 2, 15).matmul(randnT(g, [19, 25]).slice(0, 2, 19).slice(1, 1, 12)), gemmTol(17), 'NN slices');
      agree((g) => randnT(g, [20, 30]).slice(1, 5, 25).matmul(randnT(g, [11, 40]).slice(1, 10, 30).T), gemmTol(20), 'NT slices');
      agree((g) => randnT(g, [31, 14]).slice(0, 2, 29).T.matmul(randnT(g, [30, 9]).slice(0, 1, 28)), gemmTol(27), 'TN slices');
      agree((g) => randnT(g, [4]).matmul(randnT(g, [4, 9])), gemmTol(4), 'vector @ matrix');
      agree((g) => randnT(g, [7, 4]).matmul(randnT(g, [4])), gemmTol(4), 'matrix @ vector');
    });

    test('operands transposed in wasm memory into padded rows (rows of 256 floats)', () => {
      forceWasm(parallel);
      agree((g) => randnT(g, [9, 256]).matmul(randnT(g, [256, 10])), gemmTol(256), 'NN, k = 256');
      agree((g) => randnT(g, [256, 9]).T.matmul(randnT(g, [256, 10])), gemmTol(256), 'TN, k = 256');
      agree((g) => randnT(g, [2, 256, 9]).mT.matmul(randnT(g, [2, 256, 10])), gemmTol(256), 'batched TN, k = 256');
      agree((g) => randnT(g, [2, 9, 256]).matmul(randnT(g, [256, 12])), gemmTol(256), 'batched NN, shared B, k = 256');
      agree((g) => randnT(g, [20, 9]).T.matmul(randnT(g, [256, 20]).T), gemmTol(20), 'TT, n = 256');
      // B transposed by the tiles, each its own columns: from a slice (row stride wider than the row), per batch, and
      // where the tiling has several row blocks (then the wrapper transposes it first)
      agree((g) => randnT(g, [17, 200]).matmul(randnT(g, [200, 40]).slice(1, 3, 37)), gemmTol(200), 'NN, k = 200, B a column slice');
      agree((g) => randnT(g, [3, 17, 200]).matmul(randnT(g, [3, 200, 50]).slice(2, 1, 42)), gemmTol(200), 'batched NN, k = 200, B sliced per batch');
      agree((g) => randnT(g, [200, 90]).T.matmul(randnT(g, [200, 5])), gemmTol(200), 'TN, k = 200, a narrow B (row blocks)');
    });

    test("the classic MLP's products (blocks split unevenly over 4-row, 8- and 2-column register tiles)", () => {
      forceWasm(parallel);
      agree((g) => randnT(g, [64, 784]).matmul(randnT(g, [100, 784]).T), gemmTol(784), 'x·W1ᵀ 64x784x100');
      agree((g) => randnT(g, [64, 100]).T.matmul(randnT(g, [64, 784])), gemmTol(64), 'gᵀ·x 100x64x784');
      agree((g) => randnT(g, [61, 777]).matmul(randnT(g, [99, 777]).T), gemmTol(777), 'NT 61x777x99');
      agree((g) => randnT(g, [63, 97]).T.matmul(randnT(g, [63, 781])), gemmTol(63), 'TN 97x63x781');
    });

    test('zero blocks of an operand (blank pixels, ReLU outputs) are not multiplied: the same +0, and NaN and ∞ still propagate', () => {
      forceWasm(parallel);
      // B (k × n, rows contiguous: NN and TN) with panels of 8 columns that are zero, −0 among them
      const zeroCols = (g: Generator, K: number, N: number, blank: (k: number, j: number) => boolean): Tensor =>
        tensor(Array.from({ length: K * N }, (_, i) => (blank(Math.floor(i / N), i % N) ? (i % 3 ? 0 : -0) : g.normal())), { shape: [K, N] });
      const panels = (k: number, j: number) => j < 8 || (j >= 16 && j < 24) || (j >= 32 && j < 40 && k >= 256);
      for (const [M, K, N] of [[13, 70, 41], [9, 300, 44]]) {
        const what = `${M}x${K}x${N}`;
        const { wasm } = both((g) => randnT(g, [K, M]).T.matmul(zeroCols(g, K, N, panels)));
        agree((g) => randnT(g, [K, M]).T.matmul(zeroCols(g, K, N, panels)), gemmTol(K), `TN with zero panels ${what}`);
        agree((g) => randnT(g, [M, K]).matmul(zeroCols(g, K, N, panels)), gemmTol(K), `NN with zero panels ${what}`);
        const c = wasm.dataSync();
        for (let i = 0; i < M; i++) for (const j of [0, 7, 16, 23]) assert.ok(Object.is(c[i * N + j], 0), `+0 at [${i}, ${j}] of ${what}`);
        // NaN and ∞ in A: times a zero column they give NaN, as the reference
        agree((g) => { const a = randnT(g, [K, M]); a.data[3 * M + 2] = NaN; a.data[5 * M + 4] = Infinity; return a.T.matmul(zeroCols(g, K, N, panels)); }, gemmTol(K), `TN, NaN and ∞ in A ${what}`);
        agree((g) => { const a = randnT(g, [M, K]); a.data[2 * K + 3] = -Infinity; return a.matmul(zeroCols(g, K, N, panels)); }, gemmTol(K), `NN, ∞ in A ${what}`);
      }
      // A (m × k, rows contiguous: NT) whose rows are zero at both ends (MNIST's blank top and bottom rows)
      const blankEnds = (g: Generator, M: number, K: number, head: number, tail: number): Tensor =>
        tensor(Array.from({ length: M * K }, (_, i) => (i % K < head || i % K >= K - tail ? (i % 5 ? 0 : -0) : g.normal())), { shape: [M, K] });
      for (const [M, K, N, head, tail] of [[9, 100, 11, 40, 20], [64, 784, 100, 84, 112], [5, 30, 3, 30, 0], [6, 1100, 7, 1030, 50]]) {
        const what = `${M}x${K}x${N}, zero ${head} + ${tail}`;
        agree((g) => blankEnds(g, M, K, head, tail).matmul(randnT(g, [N, K]).T), gemmTol(K), `NT ${what}`);
        for (const [bad, at] of [[Infinity, 1], [NaN, K - 1], [-Infinity, Math.min(head, K - 1)]] as const) {
          agree((g) => { const b = randnT(g, [N, K]); b.data[(N - 1) * K + at] = bad; return blankEnds(g, M, K, head, tail).matmul(b.T); }, gemmTol(K), `NT ${what}, ${bad} in B at k = ${at}`);
        }
      }
      // zero runs inside the rows too (an image's margins), short and long, and more runs than the kernel lists
      const runs = (g: Generator, M: number, K: number, zero: (k: number, i: number) => boolean): Tensor =>
        tensor(Array.from({ length: M * K }, (_, t) => (zero(t % K, Math.floor(t / K)) ? (t % 7 ? 0 : -0) : g.normal())), { shape: [M, K] });
      const margins = (k: number) => k % 28 < 5 || k % 28 >= 22 || (k >= 300 && k < 340);
      const stripes = (k: number, i: number) => k % 16 >= 4 + (i % 3); // 49 runs of 8–12 zeros in 784
      for (const [what, zero] of [['margins', margins], ['stripes', stripes], ['gaps of one vector', (k: number) => k % 12 >= 8]] as const) {
        agree((g) => runs(g, 13, 784, zero).matmul(randnT(g, [9, 784]).T), gemmTol(784), `NT, zero runs: ${what}`);
        for (const at of [310, 5 * 28 + 2, 783]) {
          agree((g) => { const b = randnT(g, [9, 784]); b.data[4 * 784 + at] = at % 2 ? NaN : -Infinity; return runs(g, 13, 784, zero).matmul(b.T); }, gemmTol(784), `NT, zero runs: ${what}, non-finite B at k = ${at}`);
        }
      }
      const allZero = both((g) => blankEnds(g, 8, 64, 64, 0).matmul(randnT(g, [6, 64]).T)).wasm.dataSync();
      assert.ok([...allZero].every((v) => Object.is(v, 0)), 'rows of A all zero: +0');
    });

    test('scattered zeros (rows of a panel of B, vectors of a row group of A) are skipped: the full loop\'s very bits, NaN and ∞ kept', () => {
      forceWasm(parallel);
      const bits = !wasmInfo()!.relaxedSimd; // with fused multiply-adds the sums are not replayed here: the reference then
      const check = (a: Float32Array, b: Float32Array, M: number, K: number, N: number, nt: boolean, what: string): void => {
        const [x, y] = onBackend('wasm', () => [tensor(a, { shape: nt ? [M, K] : [K, M] }), tensor(b, { shape: nt ? [N, K] : [K, N] })]);
        const c = onBackend('wasm', () => noGrad(() => (nt ? x!.matmul(y!.T) : x!.T.matmul(y!)))).dataSync() as Float32Array;
        const want = nt ? fullLoopNT(a, b, M, K, N) : fullLoopTN(a, b, M, K, N);
        if (bits) {
          for (let i = 0; i < c.length; i++) if (!Object.is(c[i], want[i])) assert.fail(`${what}: [${Math.floor(i / N)}, ${i % N}] is ${c[i]}, the full loop gives ${want[i]}`);
        } else assertClose([...c], [...want], gemmTol(K), what);
      };
      // TN (the weight gradient δᵀ·x): B's rows zero in runs of 8 columns, from a few to almost all, and the panels past
      // the 128 a thread keeps (N = 1100)
      for (const [M, K, N, p] of [[100, 64, 784, 0.6], [100, 64, 784, 0.95], [100, 64, 784, 0.15], [13, 70, 41, 0.7], [9, 64, 1100, 0.6], [5, 256, 48, 0.7]]) { // (k ≥ 128 with M ≥ 8 goes to the dot kernel)
        const a = gauss(K * M, 3), b = scattered(K, N, 8, p, 4);
        check(a, b, M, K, N, false, `TN ${M}x${K}x${N}, zero runs of 8 with p = ${p}`);
        const big = Float32Array.from(a, (v, i) => (i % 5 ? v : 3e38 * Math.sign(v))); // finite, their sums overflow
        check(big, b, M, K, N, false, `TN ${M}x${K}x${N}, p = ${p}, finite A near the largest float`);
        a[5 * M + 3] = NaN; a[(K - 1) * M + M - 1] = -Infinity; // times the zero rows: NaN
        check(a, b, M, K, N, false, `TN ${M}x${K}x${N}, p = ${p}, NaN and ∞ in A`);
      }
      // NT (the forward product x·Wᵀ): A's rows zero in runs of 4, the row groups past the 128 a thread keeps (M = 600),
      // more lists than its memory holds (M = 520, K = 1000), and k past one block (K = 1100)
      for (const [M, K, N, p] of [[64, 784, 100, 0.6], [64, 784, 100, 0.1], [13, 790, 9, 0.8], [600, 100, 6, 0.6], [520, 1000, 9, 0.5], [9, 1100, 7, 0.6]]) {
        const a = scattered(M, K, 4, p, 5), b = gauss(N * K, 6);
        if (K <= 1024) check(a, b, M, K, N, true, `NT ${M}x${K}x${N}, zero runs of 4 with p = ${p}`);
        else agree(() => tensor(a, { shape: [M, K] }).matmul(tensor(b, { shape: [N, K] }).T), gemmTol(K), `NT ${M}x${K}x${N}, p = ${p}`);
        b[2 * K + 9] = NaN; b[(N - 1) * K + K - 2] = Infinity; // where A is zero too
        if (K <= 1024) check(a, b, M, K, N, true, `NT ${M}x${K}x${N}, p = ${p}, NaN and ∞ in B`);
      }
    });

    test('the zero lists a thread keeps are made again at the next launch: operands changed in place, bound calls', () => {
      forceWasm(parallel);
      const be = wasmBackend!, bits = !wasmInfo()!.relaxedSimd;
      for (const nt of [false, true]) {
        const [M, K, N] = nt ? [32, 200, 20] : [24, 64, 96];
        const a = be.allocateResident!('float32', M * K) as Float32Array, b = be.allocateResident!('float32', K * N) as Float32Array;
        const c = be.allocateResident!('float32', M * N) as Float32Array;
        const g = nt
          ? { batch: 1, M, N, K, a, aOffset: 0, lda: K, transA: false, aBatchStride: 0, b, bOffset: 0, ldb: K, transB: true, bBatchStride: 0, c }
          : { batch: 1, M, N, K, a, aOffset: 0, lda: M, transA: true, aBatchStride: 0, b, bOffset: 0, ldb: N, transB: false, bBatchStride: 0, c };
        const bound = be.bind!('gemm', [g])!;
        assert.ok(bound, 'the product is bound');
        // the zeros are in A for NT (its row groups), in B for TN (its panels): a new pattern each time, same arrays
        for (const [t, p] of [[1, 0.6], [2, 0.6], [3, 0.1], [4, 0.9], [5, 0]] as const) {
          if (nt) { a.set(scattered(M, K, 4, p, t)); b.set(gauss(N * K, t)); } else { a.set(gauss(K * M, t)); b.set(scattered(K, N, 8, p, t)); }
          for (const call of [bound, () => be.gemm(g)]) {
            c.fill(7);
            call();
            const want = nt ? fullLoopNT(a, b, M, K, N) : fullLoopTN(a, b, M, K, N);
            if (bits) assert.deepEqual([...c], [...want], `${nt ? 'NT' : 'TN'} pattern ${t}`);
            else assertClose([...c], [...want], gemmTol(K), `${nt ? 'NT' : 'TN'} pattern ${t}`);
          }
        }
      }
    });

    test('a zero panel remembered by a thread is checked again at the next product: B changed in place, batches, bound calls', () => {
      forceWasm(parallel);
      const be = wasmBackend!, M = 24, K = 40, N = 48;
      const a = be.allocateResident!('float32', K * M) as Float32Array, b = be.allocateResident!('float32', 2 * K * N) as Float32Array;
      const c = be.allocateResident!('float32', 2 * M * N) as Float32Array, want = new Float32Array(2 * M * N);
      for (let i = 0; i < a.length; i++) a[i] = Math.sin(i + 1);
      // batch 0 of B has zero panels at columns 0–7 and 24–31, batch 1 none
      const fill = (value: (k: number, j: number, t: number) => number): void => {
        for (let t = 0; t < 2; t++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) b[t * K * N + k * N + j] = value(k, j, t);
      };
      const g = { batch: 2, M, N, K, a, aOffset: 0, lda: M, transA: true, aBatchStride: 0, b, bOffset: 0, ldb: N, transB: false, bBatchStride: K * N, c };
      const one = { ...g, batch: 1 };
      const check = (h: typeof g, what: string): void => {
        cpuBackend.gemm({ ...h, c: want });
        assertClose([...c.subarray(0, h.batch * M * N)], [...want.subarray(0, h.batch * M * N)], gemmTol(K), what);
      };
      for (const h of [one, g]) {
        const bound = be.bind!('gemm', [h])!;
        assert.ok(bound, 'the product is bound');
        fill((k, j, t) => (t === 0 && (j < 8 || (j >= 24 && j < 32)) ? 0 : Math.cos(k * N + j)));
        bound(); check(h, `batch ${h.batch}: zero panels in batch 0`);
        fill((k, j) => Math.cos(k * N + j + 0.5)); // the same arrays, no zero panel now
        bound(); check(h, `batch ${h.batch}: bound, after B changed in place`);
        fill((k, j, t) => (t === 0 && j < 8 ? 0 : Math.cos(k + j)));
        be.gemm(h); check(h, `batch ${h.batch}: wrapper, a zero panel again`);
        fill((k, j) => Math.cos(k * N + j + 0.25));
        be.gemm(h); check(h, `batch ${h.batch}: wrapper, after B changed in place`);
      }
    });

    test('K = 0 gives zeros, and special values propagate', () => {
      forceWasm(parallel);
      agree(() => zeros([3, 0]).matmul(zeros([0, 5])), {}, 'K = 0');
      agree(() => tensor([[1, NaN, 2], [3, 4, Infinity]]).matmul(tensor([[1, 2], [3, 4], [5, 6]])), {}, 'NaN and ∞ in A');
      agree(() => tensor([[1, 2, 3]]).matmul(tensor([[1, -Infinity], [0, 4], [5, 6]]).T.contiguous().T), {}, '∞ in B');
    });
  });
}

test("a layer's weight is split by rows the same way in its forward product, its gradient and the optimizer step", () => {
  // x·Wᵀ (dot kernel, W the largest operand): 2 threads each own a contiguous run of tiles (pool.ts, affinity), so
  // the weight must be cut into column blocks only (one row block of x): thread t then reads W's rows of half t
  const g = { batch: 1, M: 64, N: 100, K: 784, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 } as Parameters<typeof describeGemm>[0];
  const fwd = describeGemm(g, 0, 784, false, 0, 0, 784, true, 0, 0, 2, 64 * 784, 100 * 784);
  assert.equal(fwd[G_NTI], 1);
  assert.ok(fwd[G_NTJ]! >= 4 && fwd[G_TILES] === fwd[G_NTJ]);
  // gᵀ·x (the weight's gradient, the largest operand C): cut into row blocks only, thread t writes W's rows of half t
  const wg = { ...g, M: 100, N: 784, K: 64, transA: true, transB: false };
  const grad = describeGemm(wg, 0, 100, true, 0, 0, 784, false, 0, 0, 2, 64 * 100, 64 * 784);
  assert.equal(grad[G_NTJ], 1);
  assert.ok(grad[G_NTI]! >= 4);
  // an A too large to stay in a core's cache (128×784 floats) keeps the rule of the longer blocks
  const big = describeGemm({ ...g, M: 128, N: 200 }, 0, 784, false, 0, 0, 784, true, 0, 0, 2, 128 * 784, 200 * 784);
  assert.ok(big[G_NTI]! > 1);
});

test('a product on the pool is bitwise identical to one thread', () => {
  const run = (parallel: boolean): Float32Array => {
    forceWasm(parallel);
    return onBackend('wasm', () => {
      const g = new Generator(3);
      const a = randnT(g, [150, 300]), b = randnT(g, [300, 130]);
      const x = randnT(g, [64, 784]), w = randnT(g, [100, 784]), gr = randnT(g, [64, 100]);
      const mlp = x.matmul(w.T).sum().add(gr.T.matmul(x).sum());
      return a.matmul(b).add(a.matmul(randnT(g, [130, 300]).T).sum()).add(mlp).dataSync() as Float32Array;
    });
  };
  assert.deepEqual(run(true), run(false));
});

test('timeWasmProducts counts the products made while it is on, bound products of a compiled step included', () => {
  forceWasm(true);
  onBackend('wasm', () => {
    const g = new Generator(5);
    const a = randnT(g, [40, 30]), b = randnT(g, [30, 20]);
    timeWasmProducts(true);
    a.matmul(b);
    timeWasmProducts(false);
    a.matmul(b); // not counted
    const once = wasmInfo()!;
    assert.equal(once.productCalls, 1);
    assert.ok(once.productSeconds > 0);
    // a compiled MLP step: its products are bound calls once the plan is trusted (third call on), and timed as such
    const model = new nn.Sequential(new nn.Linear(30, 16), new nn.Sigmoid(), new nn.Linear(16, 4));
    const step = compile((x: Tensor) => { const l = model.call(x).sum(); l.backward(); return l; });
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    for (let i = 0; i < 3; i++) { opt.zeroGrad(); step(a); }
    timeWasmProducts(true); // restarts from zero
    for (let i = 0; i < 2; i++) { opt.zeroGrad(); step(a); }
    timeWasmProducts(false);
    assert.equal(step.stats.replays, 3);
    // forward 2 products, backward 3 (x needs no gradient): 5 per replay
    assert.equal(wasmInfo()!.productCalls, 10);
  });
});

test('MNIST through a shuffling DataLoader on 2 threads (next batch gathered by a worker) gives the reference batches', () => {
  const prev = getBackend();
  setBackend('wasm');
  setWasmOptions({ threads: 2, yieldWhenBusy: false, minElements: 64, gemmMinFlops: 8192, gemmParallelFlops: 1 << 21 });
  try {
    const test = new data.MNIST({ train: false }); // made on wasm: its pixels live in wasm memory
    setBackend('cpu');
    const reference = new data.MNIST({ train: false });
    setBackend('wasm');
    const order = (randperm(test.length, { generator: new Generator(4) }).dataSync() as Int32Array).subarray(0, 64 * 20 + 17);
    const w = tensor(Float32Array.from({ length: 784 * 100 }, (_, i) => ((i * 7) % 13) / 100), { shape: [100, 784] });
    let b = 0;
    // dense: a product of zeros skips all its work (assembly/gemm.ts) and can be over before the worker wakes
    const x0 = tensor(new Float32Array(64 * 784).fill(0.5), { shape: [64, 784] });
    for (const [x, y] of new data.DataLoader(test, { batchSize: 64, sampler: order })) {
      const idx = order.subarray(b * 64, (b + 1) * 64);
      const [rx, ry] = reference.getBatch(idx);
      assert.deepEqual(x!.dataSync(), rx!.dataSync(), `images of batch ${b}`);
      assert.deepEqual(y!.dataSync(), ry!.dataSync(), `labels of batch ${b}`);
      if (b % 2 === 0) x!.reshape([-1, 784]).matmul(w.T).sum().item(); // a parallel product: the worker gathers the next batch after it
      b++;
    }
    assert.equal(b, 21);
    // the worker's path was taken (a product gives it the chance: retried, for a machine busy enough to miss them all)
    const delivered = wasmInfo()!.prefetchesDelivered, rows = order.subarray(0, 64);
    for (let k = 0; k < 200 && wasmInfo()!.prefetchesDelivered === delivered; k++) {
      test.prefetchBatch(rows);
      x0.matmul(w.T).sum().item();
      // a worker woken by the product takes the task unless getBatch withdraws it first: give it 2 ms to wake up (on a
      // machine busy with other test files the product can be over long before)
      for (const until = performance.now() + 2; performance.now() < until;) { /* wait */ }
      assert.deepEqual(test.getBatch(rows)[0]!.dataSync(), reference.getBatch(rows)[0]!.dataSync());
    }
    assert.ok(wasmInfo()!.prefetchesDelivered > delivered, 'no batch came from a worker');
  } finally {
    setBackend(prev);
  }
});

test('MNIST with reuseBuffers on 2 threads: four resident buffers in turn, the next batch decoded into its own by a worker, each batch intact while the next two are drawn', () => {
  const prev = getBackend();
  setBackend('wasm');
  setWasmOptions({ threads: 2, yieldWhenBusy: false, minElements: 64, gemmMinFlops: 8192, gemmParallelFlops: 1 << 21 });
  const prefetch = wasmBackend!.prefetchRowsU8!, into: unknown[] = [];
  try {
    const test = new data.MNIST({ train: false });
    setBackend('cpu');
    const reference = new data.MNIST({ train: false });
    setBackend('wasm');
    const order = (randperm(test.length, { generator: new Generator(6) }).dataSync() as Int32Array).subarray(0, 64 * 9 + 5);
    const w = tensor(Float32Array.from({ length: 784 * 100 }, (_, i) => ((i * 5) % 11) / 100), { shape: [100, 784] });
    const seen: { x: Tensor; want: Float32Array }[] = [];
    let b = 0;
    // the buffers the worker was asked to decode each next batch into
    wasmBackend!.prefetchRowsU8 = (...a) => { into.push(a[4]); return prefetch.apply(wasmBackend, a); };
    for (const [x, y] of new data.DataLoader(test, { batchSize: 64, sampler: order, reuseBuffers: true })) {
      const [rx, ry] = reference.getBatch(order.subarray(b * 64, (b + 1) * 64));
      assert.deepEqual(x!.dataSync(), rx!.dataSync(), `images of batch ${b}`);
      assert.deepEqual(y!.dataSync(), ry!.dataSync(), `labels of batch ${b}`);
      assert.ok(isResident(x!.data), 'the buffer lives in wasm memory');
      seen.push({ x: x!, want: rx!.dataSync() as Float32Array });
      // the two batches before this one are still intact
      for (const s of seen.slice(-3)) assert.deepEqual(s.x.dataSync(), s.want);
      if (b >= 4 && x!.shape[0] === seen[b - 4]!.x.shape[0]) assert.equal(x!.data, seen[b - 4]!.x.data, 'the buffer of four batches before');
      for (let k = 1; k <= Math.min(b, 3); k++) assert.notEqual(x!.data, seen[b - k]!.x.data);
      x!.reshape([-1, 784]).matmul(w.T).sum().item(); // a parallel product: the worker gathers the next batch after it
      b++;
    }
    assert.equal(b, 10); // the last batch (5 samples) has a buffer of its own size
    // each next batch was to be decoded straight into the buffer it then came in
    assert.equal(into.length, 9);
    into.forEach((out, k) => assert.equal(out, seen[k + 1]!.x.data, `batch ${k + 1}`));
  } finally {
    wasmBackend!.prefetchRowsU8 = prefetch;
    setBackend(prev);
  }
});

test('copy between arrays in wasm memory is one memmove, equal to the reference (and the reference for other views)', () => {
  const be = wasmBackend!;
  const a = be.allocateResident!('float32', 1000) as Float32Array, b = be.allocateResident!('float32', 1000) as Float32Array;
  for (let i = 0; i < 1000; i++) a[i] = Math.sin(i);
  const view = (data: Float32Array, shape: number[], strides: number[], offset = 0) => ({ data, shape, strides, offset });
  be.copy(view(a, [10, 30], [30, 1], 7), view(b, [10, 30], [30, 1], 100));
  assert.deepEqual(b.subarray(100, 400), a.subarray(7, 307));
  // a transposed source goes through the reference
  const c = new Float32Array(1000);
  be.copy(view(a, [30, 10], [1, 30]), view(b, [30, 10], [10, 1]));
  cpuBackend.copy(view(a, [30, 10], [1, 30]), view(c, [30, 10], [10, 1]));
  assert.deepEqual(b.subarray(0, 300), c.subarray(0, 300));
});

test('copies between a JS array and shared memory (memcpy through Buffer.fill from 4 KiB) are exact, below and above the threshold', () => {
  assert.ok(fastSharedCopy, 'Node has Buffer.prototype.fill: large copies into shared memory go by memcpy');
  const be = wasmBackend!;
  for (const n of [3, FILL_MIN_BYTES / 4 - 1, FILL_MIN_BYTES / 4, 5000]) {
    const src = Float32Array.from({ length: n + 9 }, (_, i) => (i % 5 ? Math.sin(i) : i % 2 ? NaN : -0));
    const r = be.allocateResident!('float32', n + 20) as Float32Array;
    r.fill(7);
    copyArray(r.subarray(4, 4 + n), src.subarray(9));
    assert.ok(r.subarray(4, 4 + n).every((v, i) => Object.is(v, src[9 + i])), `into memory, ${n} floats`);
    assert.ok([...r.subarray(0, 4), ...r.subarray(4 + n)].every((v) => v === 7), `nothing else written, ${n} floats`);
    const back = new Float32Array(n + 2);
    copyArray(back.subarray(1, 1 + n), r.subarray(4, 4 + n));
    assert.ok(back.subarray(1, 1 + n).every((v, i) => Object.is(v, src[9 + i])) && back[0] === 0 && back[n + 1] === 0, `out of memory, ${n} floats`);
    // Backend.copy between a JS array and a resident one, both ways
    const view = (data: Float32Array, offset: number) => ({ data, shape: [n], strides: [1], offset });
    const js = new Float32Array(n + 3);
    be.copy(view(r, 4), view(js, 3));
    assert.ok(js.subarray(3).every((v, i) => Object.is(v, src[9 + i])), `Backend.copy out of memory, ${n} floats`);
    r.fill(0);
    be.copy(view(js, 3), view(r, 2));
    assert.ok(r.subarray(2, 2 + n).every((v, i) => Object.is(v, src[9 + i])), `Backend.copy into memory, ${n} floats`);
  }
  // two views of shared memory (they may overlap) copy as set does, overlap included
  const m = be.allocateResident!('float32', 6000) as Float32Array, want = new Float32Array(6000);
  for (let i = 0; i < 6000; i++) m[i] = want[i] = i;
  copyArray(m.subarray(7, 5007), m.subarray(0, 5000));
  want.set(want.subarray(0, 5000), 7);
  assert.deepEqual(m, want, 'an overlapping copy within shared memory');
  // the same memory through two SharedArrayBuffer objects (a grow makes a new one): still as set does
  const keep: Float32Array[] = [];
  while (keep.length < 64 && (keep.length === 0 || keep[keep.length - 1]!.buffer === m.buffer)) keep.push(be.allocateResident!('float32', 1 << 20) as Float32Array);
  const grown = keep[keep.length - 1]!.buffer;
  assert.notEqual(grown, m.buffer, 'the memory grew');
  for (let i = 0; i < 6000; i++) m[i] = want[i] = i;
  copyArray(new Float32Array(grown, m.byteOffset + 28, 5000), m.subarray(0, 5000));
  want.set(want.subarray(0, 5000), 7);
  assert.deepEqual(m, want, 'an overlapping copy through two buffer objects of one memory');
});

// ---------------------------------------------------------------- elementwise

const SPECIAL = [0, -0, 1, -1, 0.5, -0.5, 1e-3, -1e-3, 1e-30, 1e-40, -1e-40, 3.4e38, -3.4e38, 20, -20, 88.7, 89, -87.4, -104, -110,
  Infinity, -Infinity, NaN, 0.62, -0.63, 2.5, -2.5, 3.5, 0.49999997, 7.1e-5, 9, -9, 1e10, -1e10];

test('gatherRowsU8 decodes byte rows through the table exactly as the reference (odd lengths, several pieces, bytes in memory)', () => {
  forceWasm(false);
  const g = new Generator(9);
  const table = Float32Array.from({ length: 256 }, (_, v) => (v / 255 - 0.1307) / 0.3081);
  for (const [count, row, nrows] of [[3, 5, 2], [10, 7, 9], [200, 784, 100], [50, 1, 33], [300, 65, 250], [9, 784, 7]] as const) {
    const src = Uint8Array.from({ length: count * row }, () => g.randint(0, 256));
    const rows = Int32Array.from({ length: nrows }, () => g.randint(0, count));
    const want = new Float32Array(nrows * row), got = new Float32Array(nrows * row).fill(NaN);
    cpuBackend.gatherRowsU8(src, row, rows, table, want);
    wasmBackend!.gatherRowsU8(src, row, rows, table, got);
    assert.deepEqual(got, want, `${nrows} rows of ${row}`);
    // the bytes in wasm memory (as MNIST keeps them): gathered and decoded in place by one kernel
    const inMem = wasmBackend!.allocateResident!('bool', src.length) as Uint8Array;
    inMem.set(src);
    got.fill(NaN);
    wasmBackend!.gatherRowsU8(inMem, row, rows, table, got);
    assert.deepEqual(got, want, `${nrows} rows of ${row} from memory`);
  }
});

describe('elementwise kernels', () => {
  test('unary ops on special values and odd lengths agree with the reference to a few ulp', () => {
    forceWasm(false);
    const g = new Generator(5);
    for (const op of ['neg', 'exp', 'log', 'sqrt', 'abs', 'sigmoid', 'tanh', 'relu', 'reciprocal', 'floor', 'ceil', 'round'] as const) {
      for (const n of [1, 3, 5, 67, 1001]) {
        const vals = Array.from({ length: n }, (_, i) => (i < SPECIAL.length && n > 60 ? SPECIAL[i]! : g.normal() * 6));
        agree(() => (tensor(vals) as unknown as Record<string, () => Tensor>)[op]!.call(tensor(vals)), { rtol: 4e-7, atol: 1e-38 }, `${op} (n = ${n})`);
      }
      // every special value on its own, in every lane position
      for (let lane = 0; lane < 4; lane++) {
        const vals = SPECIAL.map((v, i) => (i % 4 === lane ? v : 0.25));
        agree(() => (tensor(vals) as unknown as Record<string, () => Tensor>)[op]!.call(tensor(vals)), { rtol: 4e-7, atol: 1e-38 }, `${op} specials lane ${lane}`);
      }
    }
  });

  test('exp, log, sigmoid and tanh stay within 4 ulp over a wide range', () => {
    forceWasm(false);
    const xs = Float32Array.from({ length: 20001 }, (_, i) => -100 + i * 0.01);
    const pos = Float32Array.from({ length: 20001 }, (_, i) => Math.exp(-80 + i * 0.008));
    onBackend('wasm', () => {
      const checks: [string, Float32Array, (x: number) => number, Tensor][] = [
        ['exp', xs, Math.exp, tensor(xs).exp()],
        ['sigmoid', xs, (x) => 1 / (1 + Math.exp(-x)), tensor(xs).sigmoid()],
        ['tanh', xs, Math.tanh, tensor(xs).tanh()],
        ['log', pos, Math.log, tensor(pos).log()],
      ];
      for (const [name, input, f, t] of checks) {
        const got = t.dataSync();
        for (let i = 0; i < input.length; i++) {
          const want = Math.fround(f(input[i]!));
          const ulp = Math.max(Math.abs(want) * 2 ** -23, 2 ** -149);
          // below the normal range (sigmoid(−100) ≈ 4e−44) the quotient rounds to 0, as it does in PyTorch
          const ok = Number.isFinite(want) ? Math.abs(got[i]! - want) <= 4 * ulp || (Math.abs(want) < 2e-38 && Math.abs(got[i]!) < 2e-38) : got[i] === want;
          assert.ok(ok, `${name}(${input[i]}) = ${got[i]}, want ${want}`);
        }
      }
    });
  });

  test('binary ops over broadcast patterns, views and special values', () => {
    forceWasm(false);
    const shapes: [number[], number[]][] = [
      [[5, 7], [7]], [[5, 7], [5, 1]], [[5, 7], []], [[], [5, 7]], [[4, 1], [1, 6]], [[2, 3, 4, 5], [3, 1, 5]],
      [[2, 3, 4, 5], [2, 1, 4, 1]], [[3, 1, 6], [1, 5, 1]], [[67], [67]], [[1, 9], [3, 9]], [[6, 10], [6, 10]],
    ];
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
      for (const [sa, sb] of shapes) {
        agree((g) => (randnT(g, sa) as unknown as Record<string, (o: Tensor) => Tensor>)[op]!.call(randnT(g, sa), randnT(g, sb)), { rtol: 1e-7, atol: 0 }, `${op} [${sa}] with [${sb}]`);
      }
      // a transposed and a sliced operand (not dense: the reference kernels take them)
      agree((g) => (randnT(g, [6, 5]).T as unknown as Record<string, (o: Tensor) => Tensor>)[op]!.call(randnT(g, [6, 5]).T, randnT(g, [5, 6])), { rtol: 1e-7, atol: 0 }, `${op} transposed`);
      agree((g) => (randnT(g, [6, 9]).slice(1, 2, 7) as unknown as Record<string, (o: Tensor) => Tensor>)[op]!.call(randnT(g, [6, 9]).slice(1, 2, 7), tensor(1.5)), { rtol: 1e-7, atol: 0 }, `${op} sliced`);
      const a = tensor(SPECIAL), b = tensor(SPECIAL.map((_, i) => SPECIAL[(i * 5 + 3) % SPECIAL.length]!));
      agree(() => (a as unknown as Record<string, (o: Tensor) => Tensor>)[op]!.call(a, b), { rtol: 1e-7, atol: 0 }, `${op} specials`);
    }
    // maximum/minimum: NaN wins, and ±0 ties follow the reference exactly
    agree(() => tensor([0, -0, NaN, 1, -0, 0]).maximum(tensor([-0, 0, 1, NaN, -0, 0])), {}, 'maximum ties and NaN');
    const m = both(() => tensor([0, -0]).maximum(tensor([-0, 0])));
    assert.deepEqual(Array.from(m.wasm.dataSync(), (v) => Object.is(v, -0)), Array.from(m.cpu.dataSync(), (v) => Object.is(v, -0)));
  });

  test('dtypes the kernels do not cover fall back to the reference', () => {
    forceWasm(false);
    agree(() => tensor([1, 2, 3], { dtype: 'float64' }).exp().add(tensor([0.5], { dtype: 'float64' })), { rtol: 0, atol: 0 }, 'float64');
    agree(() => tensor([1, 2, 3], { dtype: 'int32' }).mul(tensor([4, 5, 6], { dtype: 'int32' })), { rtol: 0, atol: 0 }, 'int32');
    agree(() => tensor([1, 2, 3]).gt(tensor([2])).float().add(tensor([1, 2, 3]).sin()), { rtol: 0, atol: 0 }, 'comparisons and sin');
  });
});

// ---------------------------------------------------------------- reductions

test('sums over every dim of odd shapes agree with the reference', () => {
  forceWasm(false);
  for (const shape of [[7], [3, 5], [5, 67], [4, 3, 9], [2, 3, 4, 5], [1000], [64, 100]]) {
    for (let d = -1; d < shape.length; d++) {
      agree((g) => (d < 0 ? randnT(g, shape).sum() : randnT(g, shape).sum(d)), { rtol: 1e-6, atol: 1e-6 }, `sum [${shape}] over ${d < 0 ? 'all' : d}`);
    }
  }
  agree((g) => randnT(g, [4, 6, 5]).sum([0, 2], true), { rtol: 1e-6, atol: 1e-6 }, 'sum over two dims');
  agree(() => tensor([1, NaN, 2, 3, 4]).sum(), {}, 'NaN in a sum');
});

// ---------------------------------------------------------------- fused optimizer steps

describe('fused optimizer steps agree with the reference update', () => {
  const trainParams = (make: (params: Tensor[]) => optim.Optimizer): Float32Array[] => {
    const lin = new nn.Linear(13, 7);
    noGrad(() => {
      const g = new Generator(9);
      for (const p of lin.parameters()) p.copy_(randnT(g, [...p.shape]));
    });
    const opt = make(lin.parameters());
    const g = new Generator(4);
    for (let s = 0; s < 5; s++) {
      opt.zeroGrad();
      lin.forward(randnT(g, [6, 13])).pow(2).mean().backward();
      opt.step();
    }
    return lin.parameters().map((p) => p.dataSync() as Float32Array);
  };
  const configs: [string, (ps: Tensor[]) => optim.Optimizer][] = [
    ['SGD', (ps) => new optim.SGD(ps, { lr: 0.1 })],
    ['SGD momentum, dampening, weight decay', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 })],
    ['SGD nesterov, maximize', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true, maximize: true })],
    ['Adam', (ps) => new optim.Adam(ps, { lr: 0.01 })],
    ['Adam weight decay, amsgrad', (ps) => new optim.Adam(ps, { lr: 0.01, weightDecay: 0.1, amsgrad: true })],
    ['AdamW maximize', (ps) => new optim.AdamW(ps, { lr: 0.01, maximize: true })],
  ];
  for (const [name, make] of configs) {
    test(name, () => {
      forceWasm(false);
      const w = onBackend('wasm', () => trainParams(make)), c = onBackend('cpu', () => trainParams(make));
      w.forEach((p, i) => assertClose(p, c[i]!, { rtol: 2e-5, atol: 2e-6 }, `${name}: parameter ${i}`));
    });
  }
});

test('optimizer steps bound to a compiled step\'s arrays (bindSgdStep, bindAdamStep) equal the wrapper\'s, through a learning-rate and an options change', () => {
  type Make = (ps: Tensor[]) => optim.Optimizer;
  const run = (bound: boolean, parallel: boolean, make: Make, kind: 'sgd' | 'adam'): { params: Float32Array[]; wrapperCalls: number } => {
    forceWasm(parallel);
    setWasmOptions({ optimizerParallelElements: parallel ? 0 : Infinity });
    const prev = getBackend();
    setBackend('wasm');
    const be = wasmBackend as unknown as Record<string, unknown>;
    const stepName = kind === 'sgd' ? 'sgdStep' : 'adamStep', bindName = kind === 'sgd' ? 'bindSgdStep' : 'bindAdamStep';
    const wrapper = be[stepName] as (a: unknown) => void, binder = be[bindName];
    let wrapperCalls = 0;
    be[stepName] = (a: unknown) => { wrapperCalls++; wrapper(a); };
    if (!bound) delete be[bindName];
    try {
      const g = new Generator(5);
      const model = new nn.Sequential(new nn.Linear(30, 12), new nn.Sigmoid(), new nn.Linear(12, 3));
      noGrad(() => { for (const p of model.parameters()) p.copy_(randnT(g, [...p.shape])); });
      const opt = make(model.parameters());
      const step = compile((x: Tensor) => { const l = model.call(x).pow(2).mean(); l.backward(); return l; }, { warn: false });
      for (let s = 0; s < 12; s++) {
        if (s === 6) opt.paramGroups[0]!.lr = 0.03; // a schedule: the bound step takes the rate of each call
        if (s === 8) setWasmOptions({ minElements: 0 }); // the binding is dropped, the wrapper runs, then it binds again
        opt.zeroGrad();
        step(randnT(g, [8, 30]));
        opt.step();
      }
      return { params: model.parameters().map((p) => Float32Array.from(p.data as Float32Array)), wrapperCalls };
    } finally {
      be[stepName] = wrapper;
      be[bindName] = binder;
      setBackend(prev);
      setWasmOptions({ optimizerParallelElements: 1 << 15 });
    }
  };
  const configs: [string, Make, 'sgd' | 'adam'][] = [
    ['SGD', (ps) => new optim.SGD(ps, { lr: 0.1, weightDecay: 0.01 }), 'sgd'],
    ['SGD momentum', (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }), 'sgd'],
    ['Adam', (ps) => new optim.Adam(ps, { lr: 0.1, weightDecay: 0.01 }), 'adam'],
    ['AdamW amsgrad', (ps) => new optim.AdamW(ps, { lr: 0.1, amsgrad: true }), 'adam'],
  ];
  for (const parallel of [false, true]) {
    for (const [name, make, kind] of configs) {
      const what = `${name}, ${parallel ? '2 threads' : '1 thread'}`;
      const b = run(true, parallel, make, kind), w = run(false, parallel, make, kind);
      b.params.forEach((p, i) => assert.deepEqual(p, w.params[i], `${what}: parameter ${i}`));
      assert.equal(w.wrapperCalls, 12 * 4, what);
      assert.ok(b.wrapperCalls < 12 * 4 - 8, `${what}: ${b.wrapperCalls} steps went through the wrapper`);
    }
  }
});

// ---------------------------------------------------------------- gather and the fused kernels used by ops and nn

test('gather: indexSelect rows and columns, negative indices, general indices', () => {
  forceWasm(false);
  const idx = tensor([3, 0, -1, 2, 2], { dtype: 'int32' });
  agree((g) => randnT(g, [5, 40]).indexSelect(0, idx), {}, 'indexSelect rows (long rows)');
  agree((g) => randnT(g, [5, 3]).indexSelect(0, idx), {}, 'indexSelect rows (short rows)');
  agree((g) => randnT(g, [2, 5, 3]).indexSelect(1, idx), {}, 'indexSelect middle dim');
  agree((g) => randnT(g, [4, 5]).indexSelect(1, idx), {}, 'indexSelect columns');
  agree((g) => randnT(g, [3, 4]).gather(1, tensor([[0, 1], [3, 3], [2, 0]], { dtype: 'int32' })), {}, 'general gather');
  onBackend('wasm', () => {
    assert.throws(() => randnT(new Generator(1), [3, 4]).gather(0, tensor([[5, 0, 0, 0]], { dtype: 'int32' })), /gather: index 5 is out of range for dim 0 of size 3/);
  });
});

test('gather bound for a compiled plan (Backend.bind): rows of x in or out of memory, read afresh on every call', () => {
  forceWasm(false);
  const be = wasmBackend!;
  const view = (data: Float32Array | Int32Array, shape: number[], strides?: number[]) =>
    ({ data, shape, strides: strides ?? (shape.length === 2 ? [shape[1]!, 1] : [1]), offset: 0 });
  const idx = be.allocateResident!('int32', 6) as Int32Array, out = be.allocateResident!('float32', 6 * 4) as Float32Array;
  idx.set([3, 0, -1, 2, 2, 1]);
  const xs = Float32Array.from({ length: 20 }, (_, i) => i); // an ordinary array, as eye(10) a user made
  const index = { data: idx, shape: [6, 4], strides: [1, 0], offset: 0 }; // as indexSelect passes it: expanded along the row
  const run = be.bind!('gather', [view(xs, [5, 4]), 0, index, out]);
  assert.ok(run, 'bound');
  const expect = (x: Float32Array) => Array.from(idx).flatMap((k) => Array.from(x.subarray(((k + 5) % 5) * 4, ((k + 5) % 5) * 4 + 4)));
  assert.equal(run!(), undefined);
  assert.deepEqual(Array.from(out), expect(xs));
  xs[13] = -7; // x changed between replays: the call reads it again
  run!();
  assert.deepEqual(Array.from(out), expect(xs));
  idx[4] = 5;
  assert.throws(() => run!(), /gather: index 5 is out of range for dim 0 of size 5/);
  // a large x outside memory is not copied for a few rows: the wrapper's TypeScript path runs instead
  assert.equal(be.bind!('gather', [view(new Float32Array(4000), [1000, 4]), 0, index, out]), null);
});

/** Gradients of f's output sum w.r.t. each input on wasm and on the reference; with `second`, also a double backward. */
function agreeGrad(f: (xs: Tensor[]) => Tensor, make: (g: Generator) => Tensor[], what: string, second = false): void {
  const run = (name: string) => {
    return onBackend(name, () => {
      const xs = make(new Generator(21)).map((x) => x.detach().requiresGrad_());
      const y = f(xs).sum();
      const gs = autograd.grad(y, xs, { createGraph: second });
      const out = [y, ...(gs as Tensor[])];
      if (second) out.push(...(autograd.grad((gs as Tensor[]).reduce((a, b) => a.add(b.sum()), tensor(0)), xs, { allowUnused: true }) as Tensor[]).filter(Boolean));
      return out.map((t) => t.detach());
    });
  };
  const w = run('wasm'), c = run('cpu');
  assert.equal(w.length, c.length, what);
  w.forEach((t, i) => assertClose(t, c[i]!, { rtol: 2e-5, atol: 1e-6 }, `${what} #${i}`));
}

test('sigmoid and tanh backward (fused kernel) and their double backward agree with the reference', () => {
  forceWasm(false);
  for (const shape of [[7], [64, 100], [3, 5, 9]]) {
    agreeGrad(([x]) => x!.sigmoid().mul(x!), (g) => [randnT(g, shape)], `sigmoid ${shape}`);
    agreeGrad(([x]) => x!.tanh().mul(x!), (g) => [randnT(g, shape)], `tanh ${shape}`);
  }
  agreeGrad(([x]) => x!.sigmoid().pow(2), (g) => [randnT(g, [6, 5])], 'sigmoid, double backward', true);
  agreeGrad(([x]) => x!.tanh().pow(2), (g) => [randnT(g, [6, 5])], 'tanh, double backward', true);
  // a broadcast (non-contiguous) incoming gradient takes the expression
  agreeGrad(([x]) => x!.sigmoid().sum(0), (g) => [randnT(g, [8, 3])], 'sigmoid with an expanded gradient');
});

test('binary cross-entropy (fused kernel): values, gradients, reductions, weights, range errors', () => {
  forceWasm(false);
  // probabilities made in JS, so both backends get the same float32 inputs (p near 0 or 1 amplifies any difference)
  const probs = (g: Generator, shape: number[]) => tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 1 / (1 + Math.exp(-3 * g.normal()))), { shape });
  const targets = (g: Generator, shape: number[]) => randnT(g, shape).gt(0).float();
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    agreeGrad(([p, y]) => nn.functional.binaryCrossEntropy(p!, y!, { reduction }), (g) => [probs(g, [64, 10]), targets(g, [64, 10])], `BCE ${reduction}`);
  }
  agreeGrad(([p, y]) => nn.functional.binaryCrossEntropy(p!, y!, { weight: tensor([0.5, 2, 1]) }), (g) => [probs(g, [4, 3]), targets(g, [4, 3])], 'BCE weighted');
  agreeGrad(([p, y]) => nn.functional.binaryCrossEntropy(p!, y!), (g) => [probs(g, [5, 7]), targets(g, [5, 7])], 'BCE double backward', true);
  // probabilities of exactly 0 and 1 (logs clamped at −100), and soft targets
  agree(() => nn.functional.binaryCrossEntropy(tensor([0, 1, 0, 1, 0.5, 1e-30]), tensor([0, 1, 1, 0, 0.3, 1]), { reduction: 'none' }), { rtol: 1e-6, atol: 1e-6 }, 'BCE at 0 and 1');
  onBackend('wasm', () => {
    // four targets of 0 or 1 take one log; the same pairs beside a soft target take both logs: the same bits
    const ps = [0, 1, 1e-30, 0.3, 0.999, 1e-7, 0.5, 0.75], ys = [1, 0, 1, 0, 1, 0, 0, 1];
    for (let i = 0; i < ps.length; i += 3) {
      const p4 = [0, 1, 2].map((k) => ps[(i + k) % ps.length]!), y4 = [0, 1, 2].map((k) => ys[(i + k) % ys.length]!);
      const l = nn.functional.binaryCrossEntropy(tensor([...p4, 0.5, ...p4, 0.5]), tensor([...y4, 1, ...y4, 0.3]), { reduction: 'none' }).dataSync();
      for (let k = 0; k < 3; k++) assert.ok(Object.is(l[k], l[4 + k]), `BCE(${p4[k]}, ${y4[k]}): ${l[k]} with one log, ${l[4 + k]} with two`);
    }
    assert.throws(() => nn.functional.binaryCrossEntropy(tensor([0.5, 1.5, -1]), tensor([1, 0, 0])), /binaryCrossEntropy: all elements of input should be probabilities between 0 and 1, found 1\.5/);
  });
});

test('softmax and logSoftmax over the last dim (fused kernel): odd widths, extreme logits, gradients, double backward', () => {
  forceWasm(false);
  for (const shape of [[1], [4, 1], [3, 5], [64, 10], [2, 3, 67]]) {
    agreeGrad(([x]) => x!.softmax(-1).mul(x!), (g) => [randnT(g, shape).mul(4)], `softmax ${shape}`);
    agreeGrad(([x]) => x!.logSoftmax(-1).mul(x!), (g) => [randnT(g, shape).mul(4)], `logSoftmax ${shape}`);
  }
  agreeGrad(([x]) => x!.logSoftmax(-1).pow(2), (g) => [randnT(g, [3, 6])], 'logSoftmax, double backward', true);
  agreeGrad(([x]) => x!.softmax(-1).pow(2), (g) => [randnT(g, [3, 6])], 'softmax, double backward', true);
  const extreme = tensor([[1000, -1000, 999, 0, 1000], [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity], [1, NaN, 2, 3, 4], [-Infinity, 0, -Infinity, 1, 2]]);
  agree(() => extreme.softmax(-1), { rtol: 1e-6, atol: 1e-7 }, 'softmax at ±1000, −∞ rows, NaN');
  agree(() => extreme.logSoftmax(-1), { rtol: 1e-6, atol: 1e-6 }, 'logSoftmax at ±1000, −∞ rows, NaN');
  agree((g) => randnT(g, [5, 6]).logSoftmax(0), { rtol: 1e-6, atol: 1e-6 }, 'logSoftmax over dim 0 (the reference path)');
  const labels = tensor(Array.from({ length: 64 }, (_, i) => (i * 7) % 10), { dtype: 'int32' });
  agreeGrad(([x]) => nn.functional.crossEntropy(x!, labels), (g) => [randnT(g, [64, 10])], 'cross-entropy');
});

// ---------------------------------------------------------------- memory, process, selection

test('the scratch arenas stop growing once the largest call has been seen', () => {
  forceWasm(true);
  onBackend('wasm', () => {
    const g = new Generator(1);
    const step = () => {
      const a = randnT(g, [64, 300]), w = randnT(g, [50, 300]);
      a.matmul(w.T).sigmoid().sum(0).add(1).log();
    };
    step();
    const size = wasmInfo()!.arenaBytes;
    for (let i = 0; i < 50; i++) step();
    assert.equal(wasmInfo()!.arenaBytes, size);
  });
});

/** Run a script in a fresh process (through tsx); its exit status, output and wall time. */
function runScript(code: string, env: Record<string, string> = {}, nodeFlags: string[] = []): { status: number | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 };
}

test('the worker pool never keeps the process alive', () => {
  const r = runScript(`
    import { randn, matmul, setBackend } from './src/index.ts';
    import { setWasmOptions, wasmInfo } from './src/backend/wasm/index.ts';
    setBackend('wasm');
    setWasmOptions({ threads: 2, gemmParallelFlops: 0, yieldWhenBusy: false });
    const y = matmul(randn([200, 300]), randn([300, 100]));
    console.log('done', y.shape.join('x'), wasmInfo().workersStarted);
  `);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /done 200x100 true/);
});

test('the workers run under --input-type=module (the pool once died there at start), and warm the kernels up before their first job', () => {
  // runScript runs node --input-type=module -e; a worker that warmed up ran its script and every warm-up kernel
  const r = runScript(`
    import { setBackend } from './src/index.ts';
    import { wasmInfo } from './src/backend/wasm/index.ts';
    setBackend('wasm');
    const t = Date.now();
    while (wasmInfo().warmupRounds === 0 && Date.now() - t < 20000) await new Promise((r) => setTimeout(r, 5));
    console.log('rounds', wasmInfo().warmupRounds, 'resident', wasmInfo().residentHeapBytes);
  `, { NABLA_NUM_THREADS: '2' });
  assert.equal(r.status, 0, r.out);
  // a positive count: every call of a round ran without a trap and no job cut it short (10 rounds unless its 100 ms ran
  // out first, as on a busy machine); nothing of the pool's memory used
  assert.match(r.out, /rounds [1-9]\d* resident 0\b/);
});

test('products made while the worker boots and warms up are right; warmup: false turns the warm-up off', () => {
  const r = runScript(`
    import { Generator, matmul, tensor, setBackend } from './src/index.ts';
    import { setWasmOptions, wasmInfo } from './src/backend/wasm/index.ts';
    const g = new Generator(5), rnd = (m, n) => tensor(Array.from({ length: m * n }, () => g.normal()), { shape: [m, n] });
    const a = rnd(64, 784), b = rnd(784, 100);
    setBackend('cpu');
    const want = matmul(a, b).dataSync();
    setWasmOptions({ threads: 2, gemmParallelFlops: 0, yieldWhenBusy: false });
    setBackend('wasm');
    let worst = 0;
    for (let i = 0; i < 20; i++) matmul(a, b).dataSync().forEach((v, j) => { worst = Math.max(worst, Math.abs(v - want[j])); });
    const t = Date.now();
    while (wasmInfo().warmupRounds === 0 && Date.now() - t < 20000) await new Promise((r) => setTimeout(r, 5));
    const first = wasmInfo().warmupRounds;
    console.log('rounds', first, 'worst', worst);
  `);
  assert.equal(r.status, 0, r.out);
  const m = /rounds (-?\d+) worst ([\d.e-]+)/.exec(r.out);
  assert.ok(m, r.out);
  assert.notEqual(Number(m[1]), 0, 'the warm-up never finished');
  assert.ok(Number(m[2]) < 1e-3, `products made during the warm-up differ from the reference by ${m[2]}`);
  const off = runScript(`
    import { setBackend } from './src/index.ts';
    import { setWasmOptions, wasmInfo } from './src/backend/wasm/index.ts';
    setWasmOptions({ threads: 2, warmup: false });
    setBackend('wasm');
    await new Promise((r) => setTimeout(r, 500));
    console.log('rounds', wasmInfo().warmupRounds, wasmInfo().workersStarted);
  `);
  assert.equal(off.status, 0, off.out);
  assert.match(off.out, /rounds 0 true/);
});

test('the workers start when the wasm backend becomes the current one, not on first use', () => {
  const r = runScript(`
    import { setBackend } from './src/index.ts';
    import { setWasmOptions, wasmInfo } from './src/backend/wasm/index.ts';
    setBackend('cpu');
    setWasmOptions({ threads: 2 });
    const before = wasmInfo().workersStarted;
    setBackend('wasm');
    const active = wasmInfo().workersStarted;
    setWasmOptions({ threads: 3 }); // a new pool, started at once while wasm is current
    const changed = wasmInfo().workersStarted;
    setBackend('cpu');
    setWasmOptions({ threads: 2 }); // not current: made on first use
    console.log('started', before, active, changed, wasmInfo().workersStarted);
  `);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /started false true true false/);
});

test('the relaxed-SIMD builds (fused multiply-add) load where the engine has relaxed SIMD, and agree with the reference', () => {
  const code = `
    import { Generator, matmul, tensor, setBackend } from './src/index.ts';
    import { wasmInfo, setWasmOptions } from './src/backend/wasm/index.ts';
    const g = new Generator(2), r = (m, n) => tensor(Array.from({ length: m * n }, () => g.normal()), { shape: [m, n] });
    let worst = 0;
    for (const [M, K, N] of [[64, 784, 100], [37, 129, 51], [5, 3, 9]]) {
      const a = r(M, K), b = r(K, N), bt = r(N, K);
      for (const parallel of [false, true]) {
        setWasmOptions({ threads: 2, gemmMinFlops: 0, gemmParallelFlops: parallel ? 0 : Infinity, yieldWhenBusy: false });
        setBackend('wasm'); const w = [matmul(a, b), matmul(a, bt.T), matmul(a.T.contiguous().T, b)].map((t) => t.dataSync());
        setBackend('cpu'); const c = [matmul(a, b), matmul(a, bt.T), matmul(a, b)].map((t) => t.dataSync());
        w.forEach((x, i) => x.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - c[i][j]) / Math.sqrt(K)); })); // entries are ~√K
      }
    }
    console.log('relaxed=' + wasmInfo().relaxedSimd + ' worst=' + worst);
  `;
  let r = runScript(code, {}, ['--experimental-wasm-relaxed-simd']);
  if (r.status !== 0 && /bad option/.test(r.out)) r = runScript(code); // engines where relaxed SIMD needs no flag
  assert.equal(r.status, 0, r.out);
  const m = /relaxed=(\w+) worst=([\d.e-]+)/.exec(r.out);
  assert.ok(m, r.out);
  assert.equal(m[1], 'true', 'the relaxed-SIMD build did not load');
  assert.ok(Number(m[2]) < 1e-5, `relaxed build differs from the reference by ${m[2]}·√K`);
});

test('NABLA_BACKEND chooses the backend, and names what is available when it cannot', () => {
  const code = `import { getBackend } from './src/index.ts'; console.log('backend=' + getBackend());`;
  for (const name of ['cpu', 'wasm']) {
    const r = runScript(code, { NABLA_BACKEND: name });
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`backend=${name}`));
  }
  const bad = runScript(code, { NABLA_BACKEND: 'tpu' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.out, /NABLA_BACKEND: backend 'tpu' is not available; available: cpu/);
});

test('setWasmOptions checks its arguments', () => {
  assert.throws(() => setWasmOptions({ threads: 0 }), /setWasmOptions: threads must be a positive integer, got 0/);
  assert.throws(() => setWasmOptions({ minElements: -1 }), /setWasmOptions: minElements must be a number ≥ 0, got -1/);
});
