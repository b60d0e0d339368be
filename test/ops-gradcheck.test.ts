/**
 * Finite-difference checks (autograd.gradcheck, float64): every differentiable case of the op table, then
 * extra shapes and broadcast patterns drawn here, and gradcheck's own behaviour on a wrong gradient.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator, Tensor, autograd, randn, rand, randint, setBackend,
  add, sub, mul, div, pow, maximum, minimum, where, matmul, sum, mean, logsumexp, softmax, logSoftmax, cat, stack,
} from '../src/index.js';
import { record } from '../src/autograd/node.js';
import { caseInputs, loadOpsFixture, opCases } from './op-cases.js';


// the reference kernels are the oracle here; other backends are compared with them through op-cases.ts
setBackend('cpu');
const fixture = loadOpsFixture();

/** Cases gradcheck can run: float64 inputs that require grad, and some float64 output that depends on them. */
function checkable(c: (typeof opCases)[number]): boolean {
  if (c.gradcheck === false) return false;
  const specs = Object.values(c.inputs);
  if (!specs.some((s) => s.dtype === 'float' || s.dtype === 'float64')) return false;
  return !specs.some((s) => s.dtype === 'float32');
}

for (const c of opCases.filter(checkable)) {
  test(`gradcheck ${c.name}`, (t) => {
    const inputs = caseInputs(c, fixture.cases[c.name]!.inputs, { dtype: 'float64' });
    const names = Object.keys(inputs);
    const f = (...xs: Tensor[]): Tensor[] => {
      const named: Record<string, Tensor> = {};
      names.forEach((k, i) => { named[k] = xs[i]!; });
      const r = c.fn(named, { dtype: 'float64' });
      return r instanceof Tensor ? [r] : r;
    };
    const outs = f(...names.map((k) => inputs[k]!)).filter((o) => o.requiresGrad);
    if (!outs.length || outs.some((o) => o.dtype !== 'float64')) { t.skip('no differentiable float64 output'); return; }
    assert.equal(autograd.gradcheck(f, names.map((k) => inputs[k]!)), true);
  });
}

// ---------------------------------------------------------------- more shapes and broadcast patterns

const gen = new Generator(42);
const r64 = (shape: number[]): Tensor => randn(shape, { dtype: 'float64', generator: gen, requiresGrad: true });
const pos64 = (shape: number[]): Tensor => rand(shape, { dtype: 'float64', generator: gen }).mul(1.5).add(0.5).requiresGrad_();

const BROADCAST_PAIRS: [number[], number[]][] = [
  [[2, 3], [3]], [[4, 1, 3], [2, 1]], [[1], [2, 2]], [[], [3]], [[2, 1, 1], [1, 3, 2]], [[3, 1], [1]], [[2, 3, 1, 2], [3, 4, 1]],
];
const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, boolean][] = [
  ['add', add, false], ['sub', sub, false], ['mul', mul, false], ['div', div, true], ['pow', pow, true],
  ['maximum', maximum, false], ['minimum', minimum, false],
];

for (const [name, op, positive] of BINARY) {
  test(`gradcheck ${name} over broadcast shapes, both operand orders`, () => {
    for (const [sa, sb] of BROADCAST_PAIRS) {
      const a = positive ? pos64(sa) : r64(sa), b = positive ? pos64(sb) : r64(sb);
      assert.equal(autograd.gradcheck(op, [a, b]), true, `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
      assert.equal(autograd.gradcheck(op, [b, a]), true, `${name} ${JSON.stringify(sb)} ${JSON.stringify(sa)}`);
    }
  });
}

test('gradcheck where over broadcast shapes', () => {
  for (const [sa, sb] of BROADCAST_PAIRS) {
    const cond = randint(0, 2, sa, { generator: gen }).gt(0);
    assert.equal(autograd.gradcheck((a, b) => where(cond, a, b), [r64(sa), r64(sb)]), true, `${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
  }
});

test('gradcheck reductions over 4-D shapes and dim sets', () => {
  const x = r64([2, 3, 2, 3]);
  for (const dims of [undefined, 0, -1, [1, 3], [0, 2, 3]] as const) {
    for (const keepdim of [false, true]) {
      assert.equal(autograd.gradcheck((t) => sum(t, dims, keepdim), [x]), true);
      assert.equal(autograd.gradcheck((t) => mean(t, dims, keepdim), [x]), true);
      if (dims !== undefined) assert.equal(autograd.gradcheck((t) => logsumexp(t, dims, keepdim), [x]), true);
    }
  }
  for (const d of [0, 1, -1]) {
    assert.equal(autograd.gradcheck((t) => t.max(d).values, [x]), true);
    assert.equal(autograd.gradcheck((t) => t.min(d, true).values, [x]), true);
    assert.equal(autograd.gradcheck((t) => softmax(t, d), [x]), true);
    assert.equal(autograd.gradcheck((t) => logSoftmax(t, d), [x]), true);
  }
});

test('gradcheck matmul over shapes, broadcast batches and transposed views', () => {
  const shapes: [number[], number[]][] = [
    [[4], [4]], [[3, 4], [4]], [[4], [4, 2]], [[1, 4], [4, 1]], [[3, 4], [4, 2]], [[2, 3, 4], [4, 2]],
    [[3, 4], [2, 4, 2]], [[2, 1, 3, 4], [1, 2, 4, 2]], [[5, 3, 1], [5, 1, 2]],
  ];
  for (const [sa, sb] of shapes) assert.equal(autograd.gradcheck(matmul, [r64(sa), r64(sb)]), true, `${JSON.stringify(sa)} @ ${JSON.stringify(sb)}`);
  assert.equal(autograd.gradcheck((a, b) => matmul(a.T, b.T), [r64([4, 3]), r64([2, 4])]), true);
  assert.equal(autograd.gradcheck((a, b) => matmul(a.mT, b), [r64([2, 4, 3]), r64([4, 2])]), true);
});

test('gradcheck large outputs through random projections', () => {
  const a = r64([9, 8]), b = r64([8, 10]); // 90 outputs > 64 rows: checked by projections
  assert.equal(autograd.gradcheck((x, y) => matmul(x, y).tanh(), [a, b]), true);
});

test('gradcheck joins and multiple outputs', () => {
  const a = r64([2, 3]), b = r64([1, 3]);
  assert.equal(autograd.gradcheck((x, y) => cat([x, y.mul(2)], 0), [a, b]), true);
  assert.equal(autograd.gradcheck((x) => stack([x, x.exp()], 1), [a]), true);
  assert.equal(autograd.gradcheck((x, y) => [x.add(y), x.mul(y).sum()], [a, b]), true);
});

test('gradcheck skips inputs that do not require grad and accepts integer inputs among them', () => {
  const x = r64([3, 4]);
  const idx = randint(0, 4, [3, 2], { generator: gen });
  assert.equal(autograd.gradcheck((t, i) => t.gather(1, i).pow(2), [x, idx]), true);
});

test('gradcheck throws on a wrong gradient, naming the worst element', () => {
  const x = tensor64([1, 2, 3]);
  // d(x²)/dx is 2x; this op claims 2x except 2x + 5 at element 2 and 2x + 1 at element 0
  const bad = (t: Tensor): Tensor => {
    const y = t.detach().pow(2);
    return record(y, 'BadSquareBackward', [t], (g) => [g.mul(t.mul(2).add(tensor64([1, 0, 5], false)))]);
  };
  assert.throws(() => autograd.gradcheck(bad, [x]), /input 0 \(shape \[3\]\) element 2, output 0 element 2: analytical 11, numerical 6/);
  assert.equal(autograd.gradcheck((t) => t.pow(2), [x]), true);
});

test('gradcheck rejects float32 inputs that require grad and calls without any', () => {
  assert.throws(() => autograd.gradcheck((t) => t.exp(), [randn([2], { requiresGrad: true })]), /input 0 must be float64/);
  assert.throws(() => autograd.gradcheck((t) => t.exp(), [randn([2], { dtype: 'float64' })]), /no input requires grad/);
});

function tensor64(values: number[], requiresGrad = true): Tensor {
  const t = new Tensor(Float64Array.from(values), [values.length]);
  return requiresGrad ? t.requiresGrad_() : t;
}
