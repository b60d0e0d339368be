/** optim behaviour: groups, validation, in-place updates, the fused-kernel seam, clipping edge cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { backend } from '../src/backend/backend.js';
import type { AdamStepArgs, SgdStepArgs } from '../src/optim/index.js';
import { assertClose } from './helpers/assert.js';

const { optim, nn } = nb;
type Tensor = nb.Tensor;

test('step writes into the parameter\'s own storage and skips parameters without a gradient', () => {
  const p = nb.tensor([1, 2, 3], { requiresGrad: true });
  const q = nb.tensor([5], { requiresGrad: true });
  const storage = p.data;
  const opt = new optim.Adam([p, q], { lr: 0.1 });
  p.grad = nb.tensor([1, -1, 0]);
  opt.step();
  assert.equal(p.data, storage);
  assert.ok(p.isLeaf && p.requiresGrad && p.gradFn === null);
  assert.deepEqual(q.toArray(), [5]);
  assert.equal(opt.state.has(q), false);
  assertClose(p, [0.9, 2.1, 3], { rtol: 1e-6 });
  opt.zeroGrad();
  assert.equal(p.grad, null);
});

test('parameter groups take their own options, with defaults for the rest; addParamGroup', () => {
  const a = new nn.Linear(2, 2), b = new nn.Linear(2, 1);
  const opt = new optim.SGD([{ params: a.parameters() }, { params: b.parameters(), lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
  assert.equal(opt.paramGroups[0]!.lr, 0.1);
  assert.equal(opt.paramGroups[1]!.lr, 0.01);
  assert.equal(opt.paramGroups[1]!.momentum, 0.9);
  const c = new nn.Linear(1, 1);
  opt.addParamGroup({ params: c.parameters(), momentum: 0 });
  assert.equal(opt.paramGroups[2]!.lr, 0.1);
  assert.equal(opt.paramGroups[2]!.momentum, 0);
  assert.throws(() => opt.addParamGroup({ params: a.parameters() }), /more than one parameter group/);
  const sd = opt.stateDict();
  assert.deepEqual(sd.paramGroups.map((g) => g.params), [[0, 1], [2, 3], [4, 5]]);
});

test('constructor validation gives clear errors', () => {
  const ps = [nb.zeros([2], { requiresGrad: true })];
  assert.throws(() => new optim.SGD(ps, {} as { lr: number }), /SGD: the learning rate is required/);
  assert.throws(() => new optim.SGD(ps, { lr: -1 }), /SGD: invalid learning rate: -1/);
  assert.throws(() => new optim.SGD(ps, { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum and zero dampening/);
  assert.throws(() => new optim.SGD([], { lr: 0.1 }), /SGD: got an empty parameter list/);
  assert.throws(() => new optim.SGD(ps[0] as unknown as Tensor[], { lr: 0.1 }), /got a single Tensor/);
  assert.throws(() => new optim.Adam(ps, { betas: [1, 0.9] }), /Adam: invalid beta parameter at index 0: 1/);
  assert.throws(() => new optim.RMSprop(ps, { alpha: -1 }), /RMSprop: invalid alpha value: -1/);
  const x = nb.zeros([2], { requiresGrad: true });
  assert.throws(() => new optim.SGD([x.mul(2)], { lr: 0.1 }), /can't optimize a non-leaf tensor/);
  assert.throws(() => new optim.SGD([nb.zeros([2], { dtype: 'int32' })], { lr: 0.1 }), /can only optimize floating-point tensors/);
});

test('float32 parameters train (Adam on a small regression) and stay float32', () => {
  nb.manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(3, 8), new nn.Tanh(), new nn.Linear(8, 1));
  const x = nb.randn([32, 3]);
  const y = x.sum(1, true).mul(0.5);
  const opt = new optim.AdamW(model.parameters(), { lr: 0.02 });
  let first = 0, last = 0;
  for (let i = 0; i < 60; i++) {
    opt.zeroGrad();
    const loss = nn.F.mseLoss(model.call(x), y);
    loss.backward();
    opt.step();
    if (i === 0) first = loss.item();
    last = loss.item();
  }
  assert.ok(last < first * 0.1, `${first} → ${last}`);
  assert.ok(model.parameters().every((p) => p.dtype === 'float32'));
});

// Reference fused kernels written out elementwise, to check the seam passes everything a kernel needs.
function sgdKernel(a: SgdStepArgs): void {
  for (let i = 0; i < a.n; i++) {
    let d = a.maximize ? -a.grad[i]! : a.grad[i]!;
    d += a.weightDecay * a.param[i]!;
    if (a.momentumBuffer) {
      const b = a.firstStep ? d : a.momentum * a.momentumBuffer[i]! + (1 - a.dampening) * d;
      a.momentumBuffer[i] = b;
      d = a.nesterov ? d + a.momentum * b : b;
    }
    a.param[i] = a.param[i]! - a.lr * d;
  }
}
function adamKernel(a: AdamStepArgs): void {
  const bc1 = 1 - a.beta1 ** a.step, bc2 = 1 - a.beta2 ** a.step;
  for (let i = 0; i < a.n; i++) {
    let g = a.maximize ? -a.grad[i]! : a.grad[i]!;
    if (a.decoupled) a.param[i] = a.param[i]! * (1 - a.lr * a.weightDecay);
    else g += a.weightDecay * a.param[i]!;
    a.expAvg[i] = a.beta1 * a.expAvg[i]! + (1 - a.beta1) * g;
    a.expAvgSq[i] = a.beta2 * a.expAvgSq[i]! + (1 - a.beta2) * g * g;
    let v = a.expAvgSq[i]!;
    if (a.maxExpAvgSq) { v = Math.max(a.maxExpAvgSq[i]!, v); a.maxExpAvgSq[i] = v; }
    a.param[i] = a.param[i]! - (a.lr / bc1) * a.expAvg[i]! / (Math.sqrt(v) / Math.sqrt(bc2) + a.eps);
  }
}

test('fused-kernel seam: a backend\'s sgdStep/adamStep is used when present and matches the reference update', () => {
  const configs: [new (p: Tensor[], o: never) => nb.optim.Optimizer<never>, Record<string, unknown>][] = [
    [optim.SGD as never, { lr: 0.1 }],
    [optim.SGD as never, { lr: 0.1, momentum: 0.9, dampening: 0.2, weightDecay: 0.01 }],
    [optim.SGD as never, { lr: 0.1, momentum: 0.9, nesterov: true, maximize: true }],
    [optim.Adam as never, { lr: 0.01, weightDecay: 0.1 }],
    [optim.Adam as never, { lr: 0.01, amsgrad: true }],
    [optim.AdamW as never, { lr: 0.01, weightDecay: 0.1, amsgrad: true }],
  ];
  const be = backend() as unknown as Record<string, unknown>;
  for (const [Cls, opts] of configs) {
    const g = new nb.Generator(3);
    const init = nb.randn([4, 5], { dtype: 'float64', generator: g });
    const grads = Array.from({ length: 4 }, () => nb.randn([4, 5], { dtype: 'float64', generator: g }));
    const run = (fused: boolean): Tensor => {
      const p = init.clone().requiresGrad_(true);
      const opt = new Cls([p], opts as never);
      let calls = 0;
      if (fused) {
        be.sgdStep = (a: SgdStepArgs) => { calls++; sgdKernel(a); };
        be.adamStep = (a: AdamStepArgs) => { calls++; adamKernel(a); };
      }
      try {
        for (const gr of grads) { p.grad = gr; opt.step(); }
      } finally {
        delete be.sgdStep; delete be.adamStep;
      }
      if (fused) assert.equal(calls, grads.length, `${Cls.name} ${JSON.stringify(opts)}: fused kernel called each step`);
      return p;
    };
    assertClose(run(true), run(false), { rtol: 1e-12, atol: 1e-14 }, `${Cls.name} ${JSON.stringify(opts)} fused vs reference`);
  }
});

test('clipGradNorm: no gradients gives 0; errorIfNonfinite; gradients replaced, not aliased', () => {
  const p = nb.zeros([2], { requiresGrad: true });
  assert.equal(optim.clipGradNorm([p], 1).item(), 0);
  // one gradient tensor shared by two leaves (as AddBackward produces) is clipped once for each
  const a = nb.zeros([2], { requiresGrad: true }), b = nb.zeros([2], { requiresGrad: true });
  const shared = nb.tensor([3, 4]);
  a.grad = shared; b.grad = shared;
  const total = optim.clipGradNorm([a, b], 1);
  assertClose(total, Math.sqrt(50), { rtol: 1e-6 });
  assertClose(a.grad!, [3 / Math.sqrt(50), 4 / Math.sqrt(50)], { rtol: 1e-5 });
  assertClose(b.grad!, [3 / Math.sqrt(50), 4 / Math.sqrt(50)], { rtol: 1e-5 });
  assert.deepEqual(shared.toArray(), [3, 4]);
  const n = nb.zeros([1], { requiresGrad: true });
  n.grad = nb.tensor([NaN]);
  assert.throws(() => optim.clipGradNorm([n], 1, 2, { errorIfNonfinite: true }), /clipGradNorm: the total norm of order 2 of the gradients is NaN/);
  const v = nb.zeros([3], { requiresGrad: true });
  v.grad = nb.tensor([-5, 0.5, 2]);
  optim.clipGradValue([v], 1);
  assert.deepEqual(v.grad!.toArray(), [-1, 0.5, 1]);
});

test('loadStateDict accepts PyTorch-style tensor steps and rejects mismatched groups', () => {
  const p = nb.zeros([2], { requiresGrad: true });
  const opt = new optim.Adam([p]);
  p.grad = nb.ones([2]);
  opt.step();
  const sd = opt.stateDict();
  (sd.state[0] as Record<string, unknown>).step = nb.tensor(1);
  const other = new optim.Adam([nb.zeros([2], { requiresGrad: true })]);
  other.loadStateDict(sd);
  assert.equal([...other.state.values()][0]!.step, 1);
  const two = new optim.Adam([{ params: [nb.zeros([1], { requiresGrad: true })] }, { params: [nb.zeros([1], { requiresGrad: true })] }]);
  assert.throws(() => two.loadStateDict(sd), /the state dict has 1 parameter groups, the optimizer has 2/);
});
