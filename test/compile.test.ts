/**
 * compile(): a recorded training step replayed on new batches gives what the eager step gives, on every
 * backend; whatever a replay could not repeat makes it run eagerly (with a warning) instead of answering wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { wasmInfo } from '../src/backend/wasm/index.js';
import { backend } from '../src/backend/backend.js';
import { onBackend } from './helpers/backend.js';

const { nn, optim } = nb;

/** Run f with console.warn captured; returns f's result and the warnings. */
function captureWarnings<T>(f: () => T): [T, string[]] {
  const seen: string[] = [], warn = console.warn;
  console.warn = (...a: unknown[]) => { seen.push(a.map(String).join(' ')); };
  try { return [f(), seen]; } finally { console.warn = warn; }
}

/** Batches of random inputs and class labels, the same for every run. */
function batches(n: number, shape: number[], classes: number, seed = 7): [nb.Tensor, nb.Tensor][] {
  const g = new nb.Generator(seed);
  return Array.from({ length: n }, () => [nb.randn(shape, { generator: g }), nb.randint(0, classes, [shape[0]!], { generator: g })]);
}

interface Run { losses: number[]; params: Float32Array[] }

/** Train a fresh seeded model on the batches with `step` wrapped (or not) by compile. */
function train(makeModel: () => nb.nn.Module, data: [nb.Tensor, nb.Tensor][], loss: (out: nb.Tensor, y: nb.Tensor) => nb.Tensor,
  compiled: boolean, opt: (p: nb.Tensor[]) => nb.optim.Optimizer = (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9 })): Run & { stats?: nb.CompileStats } {
  nb.manualSeed(3);
  const model = makeModel(), o = opt(model.parameters());
  const step = (x: nb.Tensor, y: nb.Tensor): nb.Tensor => { const l = loss(model.call(x), y); l.backward(); return l; };
  const s = compiled ? nb.compile(step, { warn: !!process.env.WARN }) : step;
  const losses: nb.Tensor[] = [];
  for (const [x, y] of data) {
    o.zeroGrad();
    losses.push(s(x, y));
    o.step();
  }
  return {
    losses: losses.map((l) => l.item()), // read at the end: returned tensors must not be overwritten by later replays
    params: model.parameters().map((p) => Float32Array.from(p.data as Float32Array)),
    stats: compiled ? (s as nb.Compiled<typeof step>).stats : undefined,
  };
}

const mlp = (): nb.nn.Module => new nn.Sequential(new nn.Linear(20, 16), new nn.Sigmoid(), new nn.Linear(16, 5), new nn.Sigmoid());
const bce = (out: nb.Tensor, y: nb.Tensor): nb.Tensor => nn.F.binaryCrossEntropy(out, y);
/** MLP batches: inputs [n, 20] and one-hot float targets [n, 5]. */
const mlpBatches = (n: number, rows: number, seed = 7): [nb.Tensor, nb.Tensor][] =>
  batches(n, [rows, 20], 5, seed).map(([x, y]) => [x, nn.F.oneHot(y, 5).float()]);
const cnn = (): nb.nn.Module => new nn.Sequential(
  new nn.Conv2d(1, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Flatten(), new nn.Linear(4 * 3 * 3, 6));
const ce = (out: nb.Tensor, y: nb.Tensor): nb.Tensor => nn.F.crossEntropy(out, y);

for (const backend of nb.listBackends()) {
  test(`${backend}: a compiled MLP step trains exactly as the eager one (SGD with momentum), replaying from the third call`, () => {
    const prev = nb.getBackend();
    nb.setBackend(backend);
    try {
      const data = mlpBatches(6, 8);
      const eager = train(mlp, data, bce, false), comp = train(mlp, data, bce, true);
      assert.deepEqual(comp.losses, eager.losses);
      comp.params.forEach((p, i) => assert.deepEqual(p, eager.params[i]));
      assert.equal(comp.stats!.traces, 2); // the first call records, the second checks a replay against an eager run
      assert.equal(comp.stats!.replays, 4);
      assert.equal(comp.stats!.plans, 1);
      // on wasm the plan's buffers live in the backend's memory, so its kernels copy nothing in or out
      if (backend === 'wasm') assert.ok((wasmInfo() as { residentArrays: number }).residentArrays > 0);
    } finally { nb.setBackend(prev); }
  });

  test(`${backend}: a compiled step fed from MNIST's reused buffers trains exactly as an eager one fed fresh batches`, () => {
    const prev = nb.getBackend();
    nb.setBackend(backend);
    try {
      const mnist = new nb.data.MNIST({ train: false });
      const order = Int32Array.from({ length: 32 * 8 }, (_, i) => (i * 104729) % mnist.length);
      const run = (compiled: boolean, reuseBuffers: boolean): Float32Array[] => {
        nb.manualSeed(5);
        const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 16), new nn.Sigmoid(), new nn.Linear(16, 10));
        const o = new optim.SGD(model.parameters(), { lr: 0.1 });
        const f = (x: nb.Tensor, y: nb.Tensor): nb.Tensor => { const l = nn.F.crossEntropy(model.call(x), y); l.backward(); return l; };
        const step = compiled ? nb.compile(f) : f;
        for (const [x, y] of new nb.data.DataLoader(mnist, { batchSize: 32, sampler: order, reuseBuffers })) {
          o.zeroGrad();
          step(x!, y!);
          o.step();
        }
        return model.parameters().map((p) => Float32Array.from(p.data as Float32Array));
      };
      const eager = run(false, false), comp = run(true, true);
      comp.forEach((p, i) => assert.deepEqual(p, eager[i]));
    } finally { nb.setBackend(prev); }
  });

  test(`${backend}: a compiled CNN step (conv, batch norm, pool, cross-entropy, Adam) matches eager, running statistics included`, () => {
    const prev = nb.getBackend();
    nb.setBackend(backend);
    try {
      const data = batches(5, [6, 1, 8, 8], 6, 11);
      const adam = (p: nb.Tensor[]): nb.optim.Optimizer => new optim.Adam(p, { lr: 1e-2 });
      nb.manualSeed(3);
      const run = (compiled: boolean): [Run & { stats?: nb.CompileStats }, number[]] => {
        let model: nb.nn.Module | null = null;
        const r = train(() => (model = cnn()), data, ce, compiled, adam);
        const bn = (model as unknown as nb.nn.Sequential).at(1) as nb.nn.BatchNorm2d;
        return [r, [...(bn.running_mean!.data as Float32Array), ...(bn.running_var!.data as Float32Array), bn.num_batches_tracked!.item()]];
      };
      const [eager, statsE] = run(false), [comp, statsC] = run(true);
      assert.deepEqual(comp.losses, eager.losses);
      comp.params.forEach((p, i) => assert.deepEqual(p, eager.params[i]));
      assert.deepEqual(statsC, statsE);
      assert.equal(comp.stats!.replays, 3);
    } finally { nb.setBackend(prev); }
  });

  test(`${backend}: two convolutions with biases (the reference CNN's shape) replay: the ones that carry a bias are written by a kernel`, () => {
    const prev = nb.getBackend();
    nb.setBackend(backend);
    try {
      // the second convolution's im2col reuses the work buffer where the first one's row of ones lies
      const twoConvs = (): nb.nn.Module => new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.ReLU(), new nn.Conv2d(4, 6, 3), new nn.ReLU(),
        new nn.Flatten(), new nn.Linear(6 * 4 * 4, 5));
      const data = batches(5, [3, 1, 8, 8], 5, 12);
      const adam = (p: nb.Tensor[]): nb.optim.Optimizer => new optim.Adam(p, { lr: 1e-2 });
      const eager = train(twoConvs, data, ce, false, adam), comp = train(twoConvs, data, ce, true, adam);
      assert.deepEqual(comp.losses, eager.losses);
      comp.params.forEach((p, i) => assert.deepEqual(p, eager.params[i]));
      assert.deepEqual(comp.stats, { traces: 2, replays: 3, eagerCalls: 0, fallbacks: 0, plans: 1 });
    } finally { nb.setBackend(prev); }
  });
}

test('a new input shape records a new plan; the old one is kept', () => {
  const model = mlp(), step = nb.compile((x: nb.Tensor, y: nb.Tensor) => { const l = bce(model.call(x), y); l.backward(); return l; });
  const data = [...mlpBatches(3, 8), ...mlpBatches(3, 3, 2), ...mlpBatches(1, 8, 4)];
  for (const [x, y] of data) { model.zeroGrad(); step(x, y); }
  assert.deepEqual(step.stats, { traces: 4, replays: 3, eagerCalls: 0, fallbacks: 0, plans: 2 });
});

test('the cache key follows every argument and the grad mode from one call to the next', () => {
  const f = nb.compile((x: nb.Tensor, k: number) => x.mul(k).sum(), { warn: false });
  const a = nb.ones([4]), d = nb.ones([4], { dtype: 'float64' });
  for (let i = 0; i < 3; i++) assert.equal(f(a, 2).item(), 8);
  assert.equal(f(a, 3).item(), 12); // another number: not the last call's plan
  assert.equal(f(d, 3).dtype, 'float64');
  assert.equal(f(nb.ones([5]), 3).item(), 15);
  assert.equal(nb.noGrad(() => f(a, 3)).item(), 12);
  assert.equal(f(a, 2).item(), 8);
});

test('outputs are fresh copies and .grad is set as backward() sets it after zeroGrad', () => {
  const model = mlp();
  const step = nb.compile((x: nb.Tensor, y: nb.Tensor) => { const l = bce(model.call(x), y); l.backward(); return [l, model.call(x)]; });
  const outs: nb.Tensor[][] = [];
  const grads: Float32Array[] = [];
  for (const [x, y] of mlpBatches(4, 8)) {
    model.zeroGrad();
    outs.push(step(x, y) as nb.Tensor[]);
    grads.push(Float32Array.from(model.parameters()[0]!.grad!.data as Float32Array));
  }
  assert.equal(step.stats.replays, 2);
  for (const [l, o] of outs) { assert.equal(l!.gradFn, null); assert.equal(o!.requiresGrad, false); }
  assert.notEqual(outs[2]![0]!.data, outs[3]![0]!.data);
  assert.notDeepEqual(grads[2], grads[3]);
  // eager reference for the last batch's gradient
  const [x, y] = mlpBatches(4, 8)[3]!;
  model.zeroGrad();
  bce(model.call(x), y).backward();
  assert.deepEqual(Float32Array.from(model.parameters()[0]!.grad!.data as Float32Array), grads[3]);
});

test('without zeroGrad, gradients accumulate as in eager mode (the call runs eagerly)', () => {
  const data = mlpBatches(4, 8);
  const grads = (compiled: boolean): Float32Array => {
    nb.manualSeed(5);
    const model = mlp();
    const f = (x: nb.Tensor, y: nb.Tensor): nb.Tensor => { const l = bce(model.call(x), y); l.backward(); return l; };
    const step = compiled ? nb.compile(f, { warn: false }) : f;
    for (const [x, y] of data) step(x, y); // never zeroed
    return Float32Array.from(model.parameters()[2]!.grad!.data as Float32Array);
  };
  assert.deepEqual(grads(true), grads(false));
});

test('what a replay cannot repeat runs eagerly, with one warning naming it', () => {
  const model = mlp(), opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  const cases: [string, (x: nb.Tensor, y: nb.Tensor) => nb.Tensor, RegExp][] = [
    ['item', (x, y) => { const l = bce(model.call(x), y); l.backward(); if (l.item() > 100) throw new Error('no'); return l; }, /item\(\)/],
    ['randperm', (x, y) => { const l = bce(model.call(x.indexSelect(0, nb.randperm(8))), y); l.backward(); return l; }, /random numbers drawn outside a host step/],
    ['optimizer', (x, y) => { opt.zeroGrad(); const l = bce(model.call(x), y); l.backward(); opt.step(); return l; }, /optimizer/],
  ];
  for (const [name, f, why] of cases) {
    const step = nb.compile(f);
    const [, warnings] = captureWarnings(() => { for (const [x, y] of mlpBatches(4, 8)) { model.zeroGrad(); step(x, y); } });
    assert.equal(warnings.length, 1, name);
    assert.match(warnings[0]!, why, name);
    assert.equal(step.stats.replays, 0, name);
    assert.equal(step.stats.eagerCalls, 3, name);
  }
});

test('JavaScript computing on tensor values behind compile\'s back is caught by the checking replay', () => {
  const w = nb.randn([4]).requiresGrad_();
  // reads a value straight from storage (not through item()), so only the comparison with an eager run can tell
  const step = nb.compile((x: nb.Tensor) => { const k = x.data[x.offset]!; const l = w.mul(k).sum(); l.backward(); return l; });
  const [, warnings] = captureWarnings(() => {
    for (const x of [nb.tensor([1, 2]), nb.tensor([3, 4]), nb.tensor([5, 6])]) {
      w.grad = null;
      const l = step(x);
      assert.ok(Math.abs(l.item() - w.sum().item() * x.data[0]!) < 1e-4);
    }
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /differs from an eager run/);
  assert.equal(step.stats.replays, 0);
});

test('a bad label in a replayed batch raises the loss\'s own error, and the step is not corrupted', () => {
  const model = new nn.Sequential(new nn.Linear(20, 5));
  const step = nb.compile((x: nb.Tensor, y: nb.Tensor) => { const l = ce(model.call(x), y); l.backward(); return l; });
  const data = batches(3, [8, 20], 5);
  for (const [x, y] of data) { model.zeroGrad(); step(x, y); }
  const bad = nb.tensor([0, 1, 2, 3, 4, 7, 0, 1], { dtype: 'int32' });
  model.zeroGrad();
  assert.throws(() => step(data[0]![0], bad), /crossEntropy: target 7 is out of range for 5 classes/);
  model.zeroGrad();
  const again = step(data[0]![0], data[0]![1]).item();
  model.zeroGrad();
  assert.equal(again, ce(model.call(data[0]![0]), data[0]![1]).item());
});

test('switching between train() and eval() records a plan for each mode', () => {
  const model = cnn(), step = nb.compile((x: nb.Tensor, y: nb.Tensor) => { const l = ce(model.call(x), y); l.backward(); return l; });
  const data = batches(3, [6, 1, 8, 8], 6, 2);
  for (const [x, y] of data) { model.zeroGrad(); step(x, y); }
  model.eval();
  const [x, y] = data[0]!;
  model.zeroGrad();
  const evalLoss = step(x, y).item();
  model.zeroGrad();
  assert.equal(evalLoss, ce(model.call(x), y).item());
  assert.equal(step.stats.traces, 3);
});

test('compile rejects what is not a function, and calls with non-tensor objects run eagerly', () => {
  assert.throws(() => nb.compile(42 as never), /compile: expected a function/);
  const step = nb.compile((o: { x: nb.Tensor }) => o.x.sum());
  assert.equal(step({ x: nb.ones([3]) } as never).item(), 3);
  assert.equal(step.stats.eagerCalls, 1);
});

test('dropout draws a new mask on every replay: the same masks, losses and weights as eager mode', () => {
  const drop = (): nb.nn.Module => new nn.Sequential(new nn.Linear(20, 16), new nn.ReLU(), new nn.Dropout(0.3), new nn.Linear(16, 5), new nn.Sigmoid());
  const data = mlpBatches(6, 8);
  const eager = train(drop, data, bce, false), comp = train(drop, data, bce, true); // both start from manualSeed(3)
  assert.deepEqual(comp.losses, eager.losses);
  comp.params.forEach((p, i) => assert.deepEqual(p, eager.params[i]));
  assert.equal(comp.stats!.replays, 4);
  assert.equal(nb.defaultGenerator.getState().join(), (() => { train(drop, data, bce, false); return nb.defaultGenerator.getState().join(); })());
});

test('arguments are read in place when they can be, copied when not (strided views), with the same results', () => {
  const data = mlpBatches(6, 8);
  // every other batch as a transposed view of a [20, 8] tensor: not contiguous, so the replay copies it
  const strided = data.map(([x, y], i): [nb.Tensor, nb.Tensor] => [i % 2 ? nb.tensor(x.toArray() as number[][]).T.contiguous().T : x, y]);
  assert.equal(strided[1]![0].isContiguous(), false);
  const eager = train(mlp, data, bce, false);
  for (const d of [data, strided]) {
    const comp = train(mlp, d, bce, true);
    assert.deepEqual(comp.losses, eager.losses);
    assert.equal(comp.stats!.replays, 4);
  }
});

test('an argument written in place by the step is never aliased: the caller\'s tensor is left alone, as on the first calls', () => {
  const w = nb.randn([4]).requiresGrad_();
  const step = nb.compile((x: nb.Tensor) => { x.copy_(x.mul(2)); const l = w.mul(x).sum(); l.backward(); return l; });
  for (let i = 0; i < 4; i++) {
    const x = nb.tensor([1, 2, 3, 4]);
    w.grad = null;
    step(x);
    assert.deepEqual([...x.data], [1, 2, 3, 4]);
    assert.deepEqual([...w.grad!.data], [2, 4, 6, 8]);
  }
  assert.equal(step.stats.replays, 2);
});

/** Run f with each available backend in turn (the previous one restored after). */
function onEveryBackend(f: (name: string) => void): void {
  for (const name of nb.listBackends()) onBackend(name, () => f(name));
}

test('an argument that is storage the step writes (a .grad it set) is copied, not read in place: the same gradients as eager mode', () => {
  onEveryBackend((name) => {
    const w = nb.tensor([0.5, -1, 2, 3]).requiresGrad_(), v = nb.tensor([1, 2, -1, 0.5]).requiresGrad_();
    // d/dw = 2·w·x and d/dv = x²: the step writes w.grad while x is still to be read for v's
    const f = (x: nb.Tensor): nb.Tensor => { const l = v.mul(x).mul(x).sum().add(w.mul(w).mul(x).sum()); l.backward(); return l; };
    const step = nb.compile(f);
    const clear = (): void => { w.grad = null; v.grad = null; };
    for (const x of [[1, 2, 3, 4], [2, 1, 0, 1], [1, 1, 1, 1]]) { clear(); step(nb.tensor(x)); }
    for (const p of [w, v]) {
      const g = p.grad!; // the plan's own gradient buffer
      const x = [...g.data];
      clear();
      const l = step(g), got = [[...w.grad!.data], [...v.grad!.data]];
      clear();
      const le = f(nb.tensor(x)), want = [[...w.grad!.data], [...v.grad!.data]];
      assert.equal(l.item(), le.item(), name);
      assert.deepEqual(got, want, name);
    }
    assert.equal(step.stats.fallbacks, 0, name);
  });
});

test('a step that returns its argument, or a view of it, is compiled and returns the argument of each call', () => {
  onEveryBackend((name) => {
    const same = nb.compile((x: nb.Tensor) => x.reshape([4]));
    const pair = nb.compile((x: nb.Tensor) => [x.mul(2), x]);
    const [r, warnings] = captureWarnings(() => [0, 1, 2, 3].map((k) => {
      const x = nb.tensor([[k, k + 1], [k + 2, k + 3]]);
      return [[...same(x).data], ...pair(x).map((t) => [...t.data])];
    }));
    assert.deepEqual(warnings, [], name);
    r.forEach((got, k) => assert.deepEqual(got, [[k, k + 1, k + 2, k + 3], [2 * k, 2 * k + 2, 2 * k + 4, 2 * k + 6], [k, k + 1, k + 2, k + 3]], name));
    assert.equal(same.stats.replays, 2, name);
    assert.equal(pair.stats.replays, 2, name);
  });
});

test('an index check (a host step that names the labels it reads) leaves the batch to be read in place where the backend allows', () => {
  onEveryBackend((name) => {
    nb.manualSeed(5);
    const model = mlp(), eye = nb.eye(5);
    const step = nb.compile((x: nb.Tensor, y: nb.Tensor) => { const l = bce(model.call(x), eye.indexSelect(0, y)); l.backward(); return l; });
    const be = backend(), copy = be.copy, copied: unknown[] = [];
    be.copy = (src, dst) => { copied.push(src.data); copy.call(be, src, dst); };
    // on wasm only a batch in its memory is read in place (others are copied into it once: see bindInputs)
    const inPlace = (x: nb.Tensor): nb.Tensor => {
      const r = be.allocateResident?.('float32', x.size) as Float32Array | null | undefined;
      if (!r) return x;
      r.set(x.data as Float32Array);
      return new nb.Tensor(r, x.shape);
    };
    try {
      for (let i = 0; i < 4; i++) {
        const x = inPlace(nb.randn([8, 20])), y = nb.randint(0, 5, [8]);
        for (const p of model.parameters()) p.grad = null;
        copied.length = 0;
        step(x, y);
        if (i >= 2) { // replays: the labels are copied (the check reads the plan's copy), the batch is not
          assert.ok(copied.includes(y.data), name);
          assert.ok(!copied.includes(x.data), name);
        }
      }
    } finally {
      be.copy = copy;
    }
    assert.equal(step.stats.replays, 2, name);
  });
});

test('wasm: batches in wasm memory are read in place, from more buffers than the plan keeps bound calls for, exactly as eager; others are copied', () => {
  if (!nb.listBackends().includes('wasm')) return;
  onBackend('wasm', () => {
    // products big enough to be bound, and shared with the thread pool (2 MFLOP)
    const be = backend(), data = batches(18, [32, 256], 5, 9).map(([x, y]): [nb.Tensor, nb.Tensor] => [x, nn.F.oneHot(y, 5).float()]);
    const wide = (): nb.nn.Module => new nn.Sequential(new nn.Linear(256, 128), new nn.Sigmoid(), new nn.Linear(128, 5), new nn.Sigmoid());
    const resident = (t: nb.Tensor): nb.Tensor => {
      const r = be.allocateResident!('float32', t.size) as Float32Array;
      r.set(t.data as Float32Array);
      return new nb.Tensor(r, t.shape);
    };
    // six resident buffers in turn (the plan keeps bound calls for four), refilled between uses; every third batch
    // an ordinary array
    const buffers = Array.from({ length: 6 }, () => resident(data[0]![0]));
    let k = 0;
    const fed = data.map(([x, y], i): [nb.Tensor, nb.Tensor] => (i % 3 === 2 ? [x, y] : [new nb.Tensor(buffers[k++ % 6]!.data, x.shape), y]));
    const fill = (i: number): void => { if (i % 3 !== 2) (fed[i]![0].data as Float32Array).set(data[i]![0].data as Float32Array); };
    const copy = be.copy, copied: unknown[] = [];
    be.copy = (src, dst) => { copied.push(src.data); copy.call(be, src, dst); };
    // the products bound to each resident buffer (the plan binds them again once a buffer's set was dropped)
    const bind = be.bind!, boundTo = new Set<unknown>();
    be.bind = (method, args) => {
      const f = bind.call(be, method, args), g = args[0] as { a?: unknown; b?: unknown };
      if (f && method === 'gemm') for (const b of buffers) if (g.a === b.data || g.b === b.data) boundTo.add(b.data);
      return f;
    };
    try {
      const run = (compiled: boolean): { losses: number[]; params: number[][] } => {
        nb.manualSeed(11);
        const model = wide(), opt = new optim.SGD(model.parameters(), { lr: 0.1 });
        const f = (x: nb.Tensor, y: nb.Tensor): nb.Tensor => { const l = bce(model.call(x), y); l.backward(); return l; };
        const step = compiled ? nb.compile(f) : f;
        const losses = fed.map(([x, y], i) => {
          fill(i);
          opt.zeroGrad();
          copied.length = 0;
          const l = step(x, y).item();
          if (compiled && i >= 3) assert.equal(copied.includes(x.data), i % 3 === 2, `batch ${i} copied or not`);
          opt.step();
          return l;
        });
        return { losses, params: model.parameters().map((p) => [...p.data]) };
      };
      const eager = run(false), comp = run(true);
      assert.deepEqual(comp.losses, eager.losses);
      assert.deepEqual(comp.params, eager.params);
      assert.equal(boundTo.size, 6, 'products bound to each resident buffer');
    } finally {
      be.copy = copy;
      be.bind = bind;
    }
  });
});

test('wasm: a trusted plan moves the parameters it trains into resident memory, and training goes on exactly', () => {
  if (!nb.listBackends().includes('wasm')) return;
  const prev = nb.getBackend();
  nb.setBackend('wasm');
  try {
    const data = mlpBatches(6, 8);
    let model: nb.nn.Module | null = null;
    const comp = train(() => (model = mlp()), data, bce, true);
    const eager = train(mlp, data, bce, false);
    assert.deepEqual(comp.losses, eager.losses);
    comp.params.forEach((p, i) => assert.deepEqual(p, eager.params[i]));
    for (const p of model!.parameters()) assert.ok(p.data.buffer instanceof SharedArrayBuffer);
    // the eager model's parameters stay where they were
  } finally { nb.setBackend(prev); }
});
