/**
 * The native backend against the reference: the shared op case table (forward, backward, double backward)
 * on every instruction set the CPU has, then the native kernels' own cases: gemm over random and odd shapes,
 * every transpose and batch layout, strided and broadcast elementwise views, special values, reductions,
 * thread-count independence and bounds checks. Skips, saying why, when the addon is not built.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Tensor, Generator, autograd, getBackend, listBackends, nn, optim, setBackend, tensor, randn, rand, noGrad,
} from '../src/index.js';
import { registerBackend, type GemmArgs } from '../src/backend/backend.js';
import { cpuBackend } from '../src/backend/cpu/index.js';
import { loadAddon } from '../src/backend/native/addon.js';
import { nativeBackend, nativeInfo, nativeUnavailableReason, setNativeOptions } from '../src/backend/native/index.js';
import { runOpCasesAgainstReference } from './op-cases.js';
import { assertClose } from './helpers/assert.js';

const skip = nativeBackend ? false : `native backend unavailable: ${nativeUnavailableReason}`;
if (skip) console.log(`# skipping native backend tests: ${skip}`);

if (nativeBackend && !listBackends().includes('native')) registerBackend(nativeBackend);
const info = nativeInfo();
const isas = info?.isas ?? [];
const initial = info ? { isa: info.isa, threads: info.threads, minElements: info.minElements, gemmParallelFlops: info.gemmParallelFlops, parallelElements: info.parallelElements } : null;

after(() => { if (initial) setNativeOptions(initial); });

/** fn's result on the native backend and on the reference, as flat arrays (fn gets a fresh seeded generator). */
function both(fn: (g: Generator) => Tensor): { native: Tensor; cpu: Tensor } {
  const prev = getBackend();
  try {
    setBackend('native');
    const native = noGrad(() => fn(new Generator(7)));
    setBackend('cpu');
    const cpu = noGrad(() => fn(new Generator(7)));
    return { native, cpu };
  } finally {
    setBackend(prev);
  }
}

/** fn's result on the native backend alone. */
function native(fn: () => Tensor): Tensor {
  const prev = getBackend();
  try {
    setBackend('native');
    return noGrad(fn);
  } finally {
    setBackend(prev);
  }
}

function agree(fn: (g: Generator) => Tensor, tol: { rtol?: number; atol?: number }, what: string): void {
  const { native, cpu } = both(fn);
  assert.equal(native.dtype, cpu.dtype, `${what}: dtype`);
  assertClose(native, cpu, tol, what);
}

for (const isa of isas) {
  describe(`native (${isa}) matches the reference on the op case table`, { skip }, () => {
    setNativeOptions({ isa, minElements: 0 });
    const results = runOpCasesAgainstReference('native', 'float32', { rtol: 1e-5, atol: 1e-6 });
    for (const r of results) test(r.name, () => assert.ok(r.ok, r.message));
  });
}
if (!isas.length) test('native op case table', { skip }, () => {});

test('the gradient of a transposed (column-major) matmul operand comes out in its layout', () => {
  const x = randn([6, 5], { requiresGrad: true }), w = randn([4, 5], { requiresGrad: true });
  const wT = w.T, xT = randn([5, 6]).requiresGrad_(true).T;
  const [gw] = autograd.grad(x.matmul(wT).sum(), [wT]);
  assert.deepEqual(gw!.strides, wT.strides);
  const [gx] = autograd.grad(xT.matmul(w.T).sum(), [xT]);
  assert.deepEqual(gx!.strides, xT.strides);
  // the same values as the row-major formula Aᵀ G
  const g = tensor(1).expand([6, 4]);
  assertClose(gw!, x.detach().T.matmul(g), { rtol: 1e-6, atol: 1e-6 }, 'gradient of wᵀ');
  x.matmul(w.T).sum().backward();
  assert.ok(w.grad!.isContiguous());
});

describe('native gemm', { skip }, () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 7, 3], [5, 1, 9], [3, 5, 0], [7, 13, 17], [8, 32, 64], [9, 33, 65], [31, 47, 129],
    [64, 100, 784], [100, 784, 64], [17, 16, 400], [130, 300, 200], [257, 129, 1000], [2, 600, 3],
    [16, 256, 40], [256, 48, 24], [40, 512, 300], [64, 7744 / 4, 288],
  ];
  for (const isa of isas) {
    test(`random shapes, every transpose (${isa})`, () => {
      setNativeOptions({ isa, minElements: 0 });
      for (const [M, N, K] of shapes) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const run = (g: Generator): Tensor => {
              const a = ta ? randn([K, M], { generator: g }).T : randn([M, K], { generator: g });
              const b = tb ? randn([N, K], { generator: g }).T : randn([K, N], { generator: g });
              return a.matmul(b);
            };
            // float32 rounding grows with K: bound by K·eps·Σ|a||b| ~ a few·1e-6·√K·K for N(0,1) data
            agree(run, { rtol: 1e-5, atol: 2e-6 * Math.max(1, K) }, `[${M},${K}]${ta ? 'ᵀ' : ''} @ [${K},${N}]${tb ? 'ᵀ' : ''}`);
          }
        }
      }
    });
  }

  test('batched, broadcast batch, vector and strided operands', () => {
    setNativeOptions({ minElements: 0 });
    const cases: [string, (g: Generator) => Tensor][] = [
      ['batched', (g) => randn([4, 9, 20], { generator: g }).matmul(randn([4, 20, 11], { generator: g }))],
      ['broadcast 2-D rhs', (g) => randn([3, 2, 9, 20], { generator: g }).matmul(randn([20, 35], { generator: g }))],
      ['broadcast batch dims', (g) => randn([3, 1, 9, 20], { generator: g }).matmul(randn([1, 5, 20, 6], { generator: g }))],
      ['transposed batch', (g) => randn([6, 20, 9], { generator: g }).mT.matmul(randn([6, 11, 20], { generator: g }).mT)],
      ['many small products', (g) => randn([64, 16, 24], { generator: g }).matmul(randn([64, 24, 40], { generator: g }))],
      ['matrix · vector', (g) => randn([37, 50], { generator: g }).matmul(randn([50], { generator: g }))],
      ['vector · matrix', (g) => randn([50], { generator: g }).matmul(randn([50, 37], { generator: g }))],
      ['dot', (g) => randn([300], { generator: g }).matmul(randn([300], { generator: g }))],
      ['sliced operands', (g) => randn([40, 60], { generator: g }).narrow(1, 5, 30).matmul(randn([50, 45], { generator: g }).narrow(0, 10, 30))],
      ['permuted operand', (g) => randn([5, 7, 9], { generator: g }).permute([1, 0, 2]).reshape([7, 45]).matmul(randn([45, 3], { generator: g }))],
    ];
    for (const [name, fn] of cases) agree(fn, { rtol: 1e-5, atol: 1e-4 }, name);
  });

  test('float64 and int32 products fall back to the reference, exactly', () => {
    const f64 = both((g) => randn([9, 7], { generator: g, dtype: 'float64' }).matmul(randn([7, 5], { generator: g, dtype: 'float64' })));
    assert.deepEqual(Array.from(f64.native.dataSync()), Array.from(f64.cpu.dataSync()));
    const i32 = both(() => tensor([[1, 2], [3, 4]], { dtype: 'int32' }).matmul(tensor([[5], [6]], { dtype: 'int32' })));
    assert.deepEqual(i32.native.toArray(), [[17], [39]]);
    assert.equal(i32.native.dtype, 'int32');
  });

  /** The backend's gemm on raw arrays (offsets, leading dimensions, batch strides as given) against the reference's,
   *  on every instruction set and each thread count given. */
  function rawAgree(g: Omit<GemmArgs, 'a' | 'b' | 'c'>, what: string, threads?: number[]): void {
    const rnd = new Generator(11);
    const aLen = g.aOffset + (g.batch - 1) * g.aBatchStride + (g.transA ? g.K : g.M) * g.lda;
    const bLen = g.bOffset + (g.batch - 1) * g.bBatchStride + (g.transB ? g.N : g.K) * g.ldb;
    const a = randn([aLen], { generator: rnd }).dataSync() as Float32Array;
    const b = randn([bLen], { generator: rnd }).dataSync() as Float32Array;
    const want = new Float32Array(g.batch * g.M * g.N);
    cpuBackend.gemm({ ...g, a, b, c: want });
    const results = isas.flatMap((isa) => (threads ?? [1]).map((t) => {
      setNativeOptions({ isa, threads: t, gemmParallelFlops: 1 << 16 }); // small products too: the threaded paths are checked
      const c = new Float32Array(g.batch * g.M * g.N).fill(NaN);
      nativeBackend!.gemm({ ...g, a, b, c });
      return { isa, c };
    }));
    setNativeOptions({ isa: initial!.isa, threads: initial!.threads, gemmParallelFlops: initial!.gemmParallelFlops });
    const atol = 2e-6 * Math.max(1, g.K);
    for (const { isa, c } of results) {
      const bad = want.findIndex((w, i) => !(Math.abs(c[i]! - w) <= atol + 1e-5 * Math.abs(w)));
      assert.equal(bad, -1, `${what} (${isa}): element ${bad} is ${c[bad]}, the reference ${want[bad]}`);
    }
    for (const isa of isas) {
      const [first, ...rest] = results.filter((r) => r.isa === isa);
      for (const r of rest) assert.ok(r.c.every((v, i) => Object.is(v, first!.c[i])), `${what} (${isa}): the same on every thread count`);
    }
  }

  test('raw operands: padded leading dimensions, offsets, batch strides including 0, every ISA, 1 and 2 threads', () => {
    setNativeOptions({ minElements: 0 });
    // the MLP step's products as the op layer passes them, shapes that split unevenly into strips, and odd edges
    const shapes: [number, number, number][] = [
      [64, 100, 784], [64, 10, 100], [64, 100, 10], [10, 100, 64], [100, 784, 64], [64, 784, 100], [100, 64, 784],
      [33, 47, 300], [9, 200, 129], [200, 9, 129], [8, 512, 96], [130, 33, 1100], [57, 61, 2], [3, 1000, 37],
    ];
    for (const [M, N, K] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const lda = (transA ? M : K) + (M % 3), ldb = (transB ? K : N) + (N % 2);
          const base = { M, N, K, transA, transB, lda, ldb, aOffset: 3, bOffset: 1 };
          const what = `${M}×${N}×${K}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`;
          rawAgree({ ...base, batch: 1, aBatchStride: 0, bBatchStride: 0 }, what, [1, 2]);
          if (M * N * K > 2e6) continue; // batches of the smaller ones only: the suite stays fast
          const aSize = (transA ? K : M) * lda, bSize = (transB ? N : K) * ldb;
          rawAgree({ ...base, batch: 3, aBatchStride: aSize, bBatchStride: 0 }, `${what}, batch of 3, B shared`, [1, 2]);
          rawAgree({ ...base, batch: 2, aBatchStride: 0, bBatchStride: bSize + 5 }, `${what}, batch of 2, A shared`, [1, 2]);
        }
      }
    }
  });

  test('the result does not depend on the thread count', () => {
    // strips (below 32 MFLOP), and shared packed panels (k = 512 rows alias in L1, so both operands are packed)
    const products: [number, number, number][] = [[200, 250, 300], [256, 300, 512]];
    for (const [M, N, K] of products) {
      const run = (threads: number): Float32Array => {
        setNativeOptions({ threads, gemmParallelFlops: 1 << 20 }); // well below these products: two threads do take part
        const g = new Generator(7);
        return native(() => randn([M, K], { generator: g }).matmul(randn([K, N], { generator: g }))).dataSync() as Float32Array;
      };
      const one = run(1), two = run(2);
      setNativeOptions({ threads: initial!.threads, gemmParallelFlops: initial!.gemmParallelFlops });
      assert.ok(one.every((v, i) => Object.is(v, two[i])), `${M}×${N}×${K}`);
    }
  });
});

describe('native elementwise', { skip }, () => {
  const special = [0, -0, 1, -1, 0.5, -0.5, 1e-30, -1e-30, 1e-40, -1e-40, 3.4e38, -3.4e38, Infinity, -Infinity, NaN,
    88.5, 88.8, -87.5, -88.5, -103, -104, 20, -20, 9.5, -9.5, 0.62, -0.62, 0.63, -0.63, 1e-8, 2.5, -2.5, 3.5, 1000, -1000];
  const unaryOps = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sigmoid', 'tanh', 'relu', 'sign', 'reciprocal', 'sin', 'cos', 'erf', 'floor', 'ceil', 'round'] as const;
  for (const isa of isas) {
    test(`unary ops on random, special and strided inputs (${isa})`, () => {
      setNativeOptions({ isa, minElements: 0 });
      for (const op of unaryOps) {
        const call = (x: Tensor): Tensor => (x as unknown as Record<string, () => Tensor>)[op]!.call(x);
        // exp/log/tanh/sigmoid/erf are polynomial approximations: a few float32 ulps
        const tol = { rtol: 4e-7 * 8, atol: op === 'erf' ? 3e-7 : 1e-30 };
        agree(() => call(tensor(special)), tol, `${op} of special values`);
        agree((g) => call(randn([1000], { generator: g }).mul(op === 'exp' ? 30 : 4)), tol, `${op} of N(0, 4²)`);
        agree((g) => call(rand([3, 37], { generator: g }).mul(100)), tol, `${op} of U(0, 100)`);
        agree((g) => call(randn([13, 29], { generator: g }).T), tol, `${op} of a transposed view`);
        agree((g) => call(randn([4, 40], { generator: g }).narrow(1, 3, 31)), tol, `${op} of a narrowed view`);
      }
    });

    test(`binary ops with broadcasting and strided views (${isa})`, () => {
      setNativeOptions({ isa, minElements: 0 });
      const ops = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
      const pairs: [string, (g: Generator) => [Tensor, Tensor]][] = [
        ['same shape', (g) => [randn([7, 33], { generator: g }), randn([7, 33], { generator: g })]],
        ['row broadcast', (g) => [randn([64, 100], { generator: g }), randn([100], { generator: g })]],
        ['column broadcast', (g) => [randn([50, 1], { generator: g }), randn([50, 70], { generator: g })]],
        ['scalar', (g) => [randn([333], { generator: g }), tensor(2)]],
        ['scalar lhs', (g) => [tensor(0.5), randn([3, 5, 17], { generator: g })]],
        ['outer', (g) => [randn([19, 1], { generator: g }), randn([1, 23], { generator: g })]],
        ['transposed', (g) => [randn([21, 30], { generator: g }).T, randn([30, 21], { generator: g })]],
        ['special', () => [tensor([...special, ...special]), tensor([...special, ...[...special].reverse()])]],
        ['ties', (g) => { const a = randn([50], { generator: g }).round(); return [a, a.clone()]; }],
      ];
      for (const op of ops) {
        for (const [name, make] of pairs) {
          agree((g) => {
            const [a, b] = make(g);
            return (a as unknown as Record<string, (o: Tensor) => Tensor>)[op]!.call(a, b);
          }, { rtol: 2e-7, atol: 1e-30 }, `${op}, ${name}`);
        }
      }
    });
  }

  test('pow follows Math.pow on its special cases', () => {
    setNativeOptions({ minElements: 0 });
    const base = tensor([1, -1, 1, -1, 2, 0, -0, -8, NaN, 1, 4, 2]);
    const expo = tensor([NaN, Infinity, -Infinity, -Infinity, NaN, -1, -1, 1 / 3, 0, 0.5, 0.5, 3]);
    agree(() => base.pow(expo), { rtol: 2e-7, atol: 0 }, 'pow specials');
  });

  test('where, isnan, copies into strided views, int and float64 fallbacks', () => {
    setNativeOptions({ minElements: 0 });
    agree((g) => {
      const x = randn([40, 30], { generator: g });
      return x.gt(0).where(x, randn([30], { generator: g }));
    }, { rtol: 0, atol: 0 }, 'where with a broadcast operand');
    agree((g) => randn([9, 1], { generator: g }).gt(0).where(randn([1, 11], { generator: g }), 0), { rtol: 0, atol: 0 }, 'where, both broadcast');
    agree(() => tensor([1, NaN, -Infinity, 0, NaN, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, NaN]).isnan(), { rtol: 0, atol: 0 }, 'isnan');
    agree((g) => randn([6, 7, 8], { generator: g }).permute([2, 0, 1]).contiguous(), { rtol: 0, atol: 0 }, 'permuted copy');
    agree((g) => randn([3, 4], { generator: g }).expand([5, 3, 4]).contiguous(), { rtol: 0, atol: 0 }, 'broadcast copy');
    agree((g) => {
      const x = randn([12, 10], { generator: g }).T;
      const y = randn([10, 12], { generator: g });
      y.narrow(1, 2, 5).copy_(x.narrow(1, 3, 5));
      return y;
    }, { rtol: 0, atol: 0 }, 'copy into a strided view');
    agree((g) => randn([50], { generator: g, dtype: 'float64' }).exp(), { rtol: 0, atol: 0 }, 'float64 exp (reference)');
    agree(() => tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], { dtype: 'int32' }).mul(3), { rtol: 0, atol: 0 }, 'int32 mul (reference)');
  });

  test('elementwise results do not depend on the thread count or the size threshold', () => {
    const run = (g: Generator): Tensor => randn([300, 700], { generator: g }).sigmoid().add(randn([700], { generator: g }));
    setNativeOptions({ threads: 1 });
    const one = both(run).native.dataSync();
    setNativeOptions({ threads: 2, parallelElements: 1024 });
    const two = both(run).native.dataSync();
    setNativeOptions({ threads: initial!.threads, parallelElements: initial!.parallelElements });
    assert.deepEqual(Array.from(one), Array.from(two));
  });
});

describe('native reductions', { skip }, () => {
  test('sum, max, min, argmax, argmin, prod over every dim, with NaN and ties', () => {
    setNativeOptions({ minElements: 0 });
    const inputs: [string, (g: Generator) => Tensor][] = [
      ['random', (g) => randn([5, 37, 19], { generator: g })],
      ['ties', (g) => randn([6, 33, 20], { generator: g }).round()],
      ['NaN planted', (g) => {
        const x = randn([4, 35, 18], { generator: g });
        x.data[17] = NaN; x.data[35 * 18 + 5] = NaN; x.data[3 * 35 * 18 + 34 * 18 + 17] = NaN;
        return x;
      }],
    ];
    for (const [name, make] of inputs) {
      for (const dim of [0, 1, 2]) {
        agree((g) => make(g).sum(dim), { rtol: 1e-6, atol: 1e-6 }, `sum(${dim}) ${name}`);
        agree((g) => make(g).max(dim).values, { rtol: 0, atol: 0 }, `max(${dim}) ${name}`);
        agree((g) => make(g).min(dim).values, { rtol: 0, atol: 0 }, `min(${dim}) ${name}`);
        agree((g) => make(g).max(dim).indices, { rtol: 0, atol: 0 }, `max(${dim}).indices ${name}`);
        agree((g) => make(g).argmin(dim), { rtol: 0, atol: 0 }, `argmin(${dim}) ${name}`);
        agree((g) => make(g).mul(0.1).add(1).prod(dim), { rtol: 1e-6, atol: 1e-6 }, `prod(${dim}) ${name}`);
      }
      agree((g) => make(g).sum(), { rtol: 1e-6, atol: 1e-6 }, `sum() ${name}`);
      agree((g) => make(g).max(), { rtol: 0, atol: 0 }, `max() ${name}`);
    }
  });

  test('long sums stay accurate', () => {
    setNativeOptions({ minElements: 0 });
    agree((g) => rand([1_000_003], { generator: g }).sum(), { rtol: 1e-7, atol: 0 }, 'sum of 1e6 uniforms');
    agree((g) => rand([3, 100_001], { generator: g }).sum(0), { rtol: 1e-7, atol: 1e-7 }, 'column sums');
    agree((g) => rand([100_001, 3], { generator: g }).sum(0), { rtol: 1e-7, atol: 0 }, 'sums down long columns');
  });
});

describe('native convolution and pooling', { skip }, () => {
  /** Output and input/weight/bias gradients of f on both backends (gradients of sum(out · w)). */
  function agreeWithGrads(make: (g: Generator) => Tensor[], f: (...xs: Tensor[]) => Tensor, tol: { rtol: number; atol: number }, what: string): void {
    const run = (name: string): Tensor[] => {
      const prev = getBackend();
      setBackend(name);
      try {
        const g = new Generator(5);
        const xs = make(g).map((t) => t.requiresGrad_(true));
        const out = f(...xs);
        out.mul(randn(out.shape, { generator: g })).sum().backward();
        return [out.detach(), ...xs.map((x) => x.grad!)];
      } finally {
        setBackend(prev);
      }
    };
    const a = run('native'), b = run('cpu');
    a.forEach((t, i) => assertClose(t, b[i]!, tol, `${what}: ${i === 0 ? 'output' : `gradient ${i}`}`));
  }
  const F = nn.functional;
  for (const isa of isas) test(`conv2d: stride, padding, dilation, groups, batches, forward and both gradients (${isa})`, () => {
    setNativeOptions({ isa });
    setNativeOptions({ minElements: 0 });
    const cases: [string, number[], number[], Record<string, unknown>][] = [
      ['1→32 3×3 (the CNN)', [4, 1, 28, 28], [32, 1, 3, 3], {}],
      ['32→64 3×3', [3, 32, 13, 13], [64, 32, 3, 3], {}],
      ['stride 2, padding 1', [2, 3, 11, 9], [5, 3, 3, 3], { stride: 2, padding: 1 }],
      ['padding same, dilation 2', [2, 4, 10, 12], [6, 4, 3, 3], { padding: 'same', dilation: 2 }],
      ['groups 2, 5×3, stride (2, 1)', [3, 4, 9, 8], [6, 2, 5, 3], { groups: 2, stride: [2, 1], padding: [2, 1] }],
      ['1×1', [5, 7, 6, 6], [3, 7, 1, 1], {}],
    ];
    for (const [name, xs, ws, opts] of cases) {
      agreeWithGrads((g) => [randn(xs, { generator: g }), randn(ws, { generator: g }), randn([ws[0]!], { generator: g })],
        (x, w, b) => F.conv2d(x!, w!, b!, opts), { rtol: 1e-4, atol: 1e-4 }, `conv2d ${name}`);
    }
    // a strided (non-contiguous) input
    agreeWithGrads((g) => [randn([6, 2, 10, 3], { generator: g }), randn([4, 6, 3, 3], { generator: g })],
      (x, w) => F.conv2d(x!.permute([1, 0, 2, 3]).narrow(2, 1, 8), w!, null, { padding: 1 }), { rtol: 1e-4, atol: 1e-4 }, 'conv2d of a permuted view');
  });
  test('batch norm: training and eval, forward and gradients, 2-D and 4-D, strided input', () => {
    setNativeOptions({ minElements: 0 });
    for (const training of [true, false]) {
      const stats = (g: Generator, C: number): Tensor[] => [rand([C], { generator: g }).mul(0.5), rand([C], { generator: g }).add(0.5)];
      agreeWithGrads((g) => [randn([16, 8, 9, 7], { generator: g }).mul(3).add(2), randn([8], { generator: g }), randn([8], { generator: g })],
        (x, w, b) => { const [m, v] = stats(new Generator(1), 8); return F.batchNorm(x!, m!, v!, w!, b!, { training }); },
        { rtol: 1e-5, atol: 1e-5 }, `batchNorm 4-D ${training ? 'train' : 'eval'}`);
      agreeWithGrads((g) => [randn([32, 12], { generator: g }), randn([12], { generator: g }), randn([12], { generator: g })],
        (x, w, b) => { const [m, v] = stats(new Generator(1), 12); return F.batchNorm(x!, m!, v!, w!, b!, { training }); },
        { rtol: 1e-5, atol: 1e-5 }, `batchNorm 2-D ${training ? 'train' : 'eval'}`);
      agreeWithGrads((g) => [randn([8, 16, 5, 6], { generator: g }), randn([8], { generator: g }), randn([8], { generator: g })],
        (x, w, b) => F.batchNorm(x!.permute([1, 0, 2, 3]), null, null, w!, b!, { training: true }),
        { rtol: 1e-5, atol: 1e-5 }, 'batchNorm of a permuted view');
    }
  });
  for (const isa of isas) test(`maxPool2d: windows, padding, dilation, ceil mode, ties and NaN (${isa})`, () => {
    setNativeOptions({ isa });
    setNativeOptions({ minElements: 0 });
    const cases: [string, number, Record<string, unknown>][] = [
      ['2×2', 2, {}], ['3×3 stride 2 padding 1', 3, { stride: 2, padding: 1 }], ['3 dilation 2', 3, { dilation: 2, stride: 1 }],
      ['2 ceil mode', 2, { ceilMode: true, stride: 2 }], ['3 stride 2 ceil', 3, { stride: 2, ceilMode: true, padding: 1 }],
    ];
    for (const [name, k, opts] of cases) {
      agreeWithGrads((g) => [randn([3, 4, 11, 13], { generator: g })], (x) => F.maxPool2d(x!, k, opts), { rtol: 0, atol: 0 }, `maxPool2d ${name}`);
      agreeWithGrads((g) => [randn([2, 3, 9, 75], { generator: g })], (x) => F.maxPool2d(x!, k, opts), { rtol: 0, atol: 0 }, `maxPool2d ${name}, wide rows`);
      agreeWithGrads((g) => [randn([2, 3, 9, 10], { generator: g }).round()], (x) => F.maxPool2d(x!, k, opts), { rtol: 0, atol: 0 }, `maxPool2d ${name}, ties`);
    }
    agreeWithGrads((g) => [randn([8, 8, 4, 2], { generator: g })], (x) => F.maxPool2d(x!.permute([3, 2, 1, 0]), 2), { rtol: 0, atol: 0 }, 'maxPool2d of a permuted view');
    const withNan = (g: Generator): Tensor[] => {
      const x = randn([1, 2, 6, 70], { generator: g });
      for (const i of [7, 44, 45, 70, 71, 141, 300, 301, 370, 371, 500, 571, 600]) x.data[i] = NaN;
      x.data[2] = -Infinity; x.data[3] = -Infinity; x.data[72] = -Infinity; x.data[73] = -Infinity;
      return [x];
    };
    agreeWithGrads(withNan, (x) => F.maxPool2d(x!, 2), { rtol: 0, atol: 0 }, 'maxPool2d with NaN and −∞');
  });
});

describe('native fused activation gradients and binary cross-entropy', { skip }, () => {
  /** Loss value and input gradient of f on a backend. */
  function lossAndGrad(backendName: string, make: (g: Generator) => Tensor[], f: (...xs: Tensor[]) => Tensor): Tensor[] {
    const prev = getBackend();
    setBackend(backendName);
    try {
      const xs = make(new Generator(9));
      xs[0]!.requiresGrad_(true);
      const out = f(...xs);
      out.mul(randn(out.shape, { generator: new Generator(4) })).sum().backward();
      return [out.detach(), xs[0]!.grad!];
    } finally {
      setBackend(prev);
    }
  }
  const F = nn.functional;
  const check = (make: (g: Generator) => Tensor[], f: (...xs: Tensor[]) => Tensor, what: string): void => {
    const a = lossAndGrad('native', make, f), b = lossAndGrad('cpu', make, f);
    assertClose(a[0]!, b[0]!, { rtol: 2e-6, atol: 1e-6 }, `${what}: value`);
    assertClose(a[1]!, b[1]!, { rtol: 2e-6, atol: 1e-6 }, `${what}: gradient`);
  };
  for (const isa of isas) test(`sigmoid and tanh gradients from their outputs (${isa})`, () => {
    setNativeOptions({ isa });
    check((g) => [randn([37, 53], { generator: g }).mul(3)], (x) => x!.sigmoid(), 'sigmoid');
    check((g) => [randn([37, 53], { generator: g }).mul(3)], (x) => x!.tanh(), 'tanh');
    check((g) => [randn([53, 37], { generator: g })], (x) => x!.T.sigmoid(), 'sigmoid of a transposed view');
    check((g) => [randn([5], { generator: g })], (x) => x!.tanh(), 'tanh, tiny');
  });
  for (const isa of isas) test(`binary cross-entropy: values, gradients, probabilities of exactly 0 and 1, reductions, strided views (${isa})`, () => {
    setNativeOptions({ isa });
    const probs = (g: Generator, shape: number[]): Tensor => {
      const p = rand(shape, { generator: g });
      p.data[0] = 0; p.data[1] = 1; p.data[5] = 0; p.data[8] = 1;
      return p;
    };
    const target = (g: Generator, shape: number[]): Tensor => rand(shape, { generator: g }).round();
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      check((g) => [probs(g, [64, 10]), target(g, [64, 10])], (p, y) => F.binaryCrossEntropy(p!, y!, { reduction }), `bce ${reduction}`);
    }
    check((g) => [probs(g, [10, 64]), target(g, [64, 10])], (p, y) => F.binaryCrossEntropy(p!.T, y!), 'bce of a transposed view');
    check((g) => [probs(g, [3, 7]), rand([3, 7], { generator: g })], (p, y) => F.binaryCrossEntropy(p!, y!), 'bce with soft targets');
  });
  test('binary cross-entropy names the first probability outside [0, 1], as the reference does', () => {
    const messages = ['native', 'cpu'].map((name) => {
      const prev = getBackend();
      setBackend(name);
      try {
        const p = rand([40, 10], { generator: new Generator(2) });
        p.data[123] = 1.5; p.data[300] = -0.25;
        F.binaryCrossEntropy(p, rand([40, 10]).round());
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      } finally {
        setBackend(prev);
      }
    });
    assert.match(messages[0]!, /found 1\.5/);
    assert.equal(messages[0], messages[1]);
  });
});

describe('native fused optimizer steps', { skip }, () => {
  const configs: [string, Record<string, unknown>][] = [
    ['SGD', { lr: 0.1 }],
    ['SGD', { lr: 0.1, momentum: 0.9, dampening: 0.2, weightDecay: 0.01 }],
    ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true, maximize: true }],
    ['Adam', { lr: 0.01 }],
    ['Adam', { lr: 0.01, weightDecay: 0.1, amsgrad: true }],
    ['AdamW', { lr: 0.01, weightDecay: 0.1, amsgrad: true }],
    ['AdamW', { lr: 0.01, betas: [0.8, 0.9], maximize: true }],
  ];
  /** Five steps from fixed parameters and gradients on the given backend. */
  function run(backendName: string, cls: string, opts: Record<string, unknown>, dtype: 'float32' | 'float64', n: number): Tensor {
    const prev = getBackend();
    setBackend(backendName);
    try {
      const g = new Generator(11);
      const p = randn([n], { generator: g, dtype }).requiresGrad_(true);
      const Opt = (optim as unknown as Record<string, new (ps: Tensor[], o: unknown) => { step(): void }>)[cls]!;
      const opt = new Opt([p], opts);
      for (let s = 0; s < 5; s++) { p.grad = randn([n], { generator: g, dtype }); opt.step(); }
      return p;
    } finally {
      setBackend(prev);
    }
  }
  test('float32 steps in the addon match the reference update', () => {
    for (const [cls, opts] of configs) {
      for (const n of [1000, 100_003]) {
        assertClose(run('native', cls, opts, 'float32', n), run('cpu', cls, opts, 'float32', n), { rtol: 1e-5, atol: 1e-6 }, `${cls} ${JSON.stringify(opts)} n=${n}`);
      }
    }
  });
  test('float64 and tiny parameters take the written-out update', () => {
    for (const [cls, opts] of configs) {
      assertClose(run('native', cls, opts, 'float64', 50), run('cpu', cls, opts, 'float64', 50), { rtol: 1e-12, atol: 1e-14 }, `${cls} float64`);
      assertClose(run('native', cls, opts, 'float32', 7), run('cpu', cls, opts, 'float32', 7), { rtol: 1e-6, atol: 1e-7 }, `${cls} tiny`);
    }
  });
});

describe('native addon guards', { skip }, () => {
  test('views outside their arrays are refused, not read', () => {
    const { addon } = loadAddon();
    const a = new Float32Array(12), b = new Float32Array(12), c = new Float32Array(16);
    assert.throws(() => addon!.gemm(1, 4, 4, 4, a, 0, 4, 0, 0, b, 0, 4, 0, 0, c), /out of the bounds/);
    assert.throws(() => addon!.gemm(1, 4, 4, 3, a, 1, 3, 0, 0, b, 0, 4, 0, 0, c), /out of the bounds/);
    assert.throws(() => addon!.gemm(2, 2, 2, 2, a, 0, 2, 0, 4, b, 0, 2, 0, 4, c.subarray(0, 7)), /too small/);
    // strided views through the backend, which passes them on unchecked
    setNativeOptions({ minElements: 0 });
    const nb = nativeBackend!;
    assert.throws(() => nb.unary('exp', { data: a, shape: [13], strides: [1], offset: 0 }, new Float32Array(13)), /out of the bounds/);
    assert.throws(() => nb.binary('add', { data: a, shape: [3, 4], strides: [4, 1], offset: 0 },
      { data: b, shape: [3, 4], strides: [4, 1], offset: 1 }, new Float32Array(12)), /out of the bounds/);
    assert.throws(() => nb.unary('exp', { data: a, shape: [3, 4], strides: [-4, 1], offset: 0 }, new Float32Array(12)), /out of the bounds/);
    assert.throws(() => nb.copy({ data: a, shape: [4, 4], strides: [4, 1], offset: 0 }, { data: c, shape: [4, 4], strides: [4, 1], offset: 0 }), /out of the bounds/);
    assert.throws(() => nb.reduce('sum', a, 2, 1, 12, 1, new Float32Array(1)), /too small/);
  });

  test('worker threads that load the addon keep their own view descriptions', async () => {
    const { Worker } = await import('node:worker_threads');
    const { path } = loadAddon();
    // each thread describes a transposed 3×4 view in its own meta array and takes exp of it, many times over
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = require(workerData.path);
      const meta = new Float64Array(81); m.setMeta(meta);
      const x = Float32Array.from({ length: 12 }, (_, i) => i / 10), out = new Float32Array(12);
      let bad = 0;
      for (let r = 0; r < 20000; r++) {
        meta.set([2, 4, 3, 1, 4]);
        m.unary(1, x, 0, out);
        for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) if (Math.abs(out[i * 3 + j] - Math.exp(x[j * 4 + i])) > 1e-5) bad++;
      }
      parentPort.postMessage(bad);`;
    const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: { path } }));
    const results = workers.map((w) => new Promise<number>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    // meanwhile this thread uses the backend with its own meta array
    setNativeOptions({ minElements: 0 });
    for (let r = 0; r < 300; r++) agree((g) => randn([7, 9], { generator: g }).T.exp(), { rtol: 1e-6, atol: 1e-7 }, 'main thread during workers');
    assert.deepEqual(await Promise.all(results), [0, 0]);
    await Promise.all(workers.map((w) => w.terminate()));
  });

  test('unknown instruction sets and bad thread counts are refused', () => {
    assert.throws(() => setNativeOptions({ isa: 'sse2' }), /not available/);
    assert.throws(() => setNativeOptions({ threads: 0 }), /positive integer/);
  });
});
