/**
 * optim against PyTorch 1.13 (test/fixtures/optim.json from scripts/fixtures/gen_optim.py):
 * N steps of each optimizer and option combination, scheduler lr sequences, clipGradNorm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { assertClose } from './helpers/assert.js';
import { type StoredTensor, fromStored, loadFixture } from './helpers/fixtures.js';

const { optim } = nb;
type Tensor = nb.Tensor;

interface OptCase {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop'; opts: Record<string, unknown>; groups?: Record<string, unknown>[];
  trace: StoredTensor[][]; stateKeys: Record<string, string[]>; groupKeys: string[];
}
interface SchedCase {
  kind: string; opts: Record<string, number>; steps: number; lrs: number[][]; lastLr: number[][];
  chain?: { kind: string; opts: Record<string, number> };
}
interface ClipCase { maxNorm: number; normType: number; grads: StoredTensor[]; total: number; clipped: StoredTensor[] }
interface Fixture { init: StoredTensor[]; grads: StoredTensor[][]; optimizers: OptCase[]; schedulers: SchedCase[]; clip: ClipCase[] }

const fx = loadFixture<Fixture>('optim');
const tol = { rtol: 1e-6, atol: 1e-12 };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const OPTIMIZERS: Record<string, new (params: any, opts: any) => nb.optim.Optimizer<any>> = {
  SGD: optim.SGD, Adam: optim.Adam, AdamW: optim.AdamW, RMSprop: optim.RMSprop,
};

const label = (c: OptCase) => `${c.optimizer} ${JSON.stringify(c.opts)}${c.groups ? ` groups ${JSON.stringify(c.groups)}` : ''}`;

function makeOptimizer(c: OptCase, params: Tensor[]) {
  const Cls = OPTIMIZERS[c.optimizer]!;
  return c.groups ? new Cls([{ params: [params[0]!], ...c.groups[0] }, { params: [params[1]!], ...c.groups[1] }], c.opts) : new Cls(params, c.opts);
}

const IMPL_FLAGS = new Set(['differentiable', 'foreach', 'fused', 'capturable']);
const camel = (k: string) => k.replace(/_([a-z])/g, (_m, ch: string) => ch.toUpperCase());

for (const c of fx.optimizers) {
  test(`optimizer vs PyTorch: ${label(c)}`, () => {
    const params = fx.init.map((s) => fromStored(s, 'float64', true));
    const opt = makeOptimizer(c, params);
    c.trace.forEach((expected, k) => {
      params.forEach((p, i) => { p.grad = fromStored(fx.grads[k]![i]!); });
      opt.step();
      params.forEach((p, i) => assertClose(p, fromStored(expected[i]!), tol, `${label(c)} step ${k + 1} param ${i}`));
    });
    const sd = opt.stateDict();
    const keys = Object.fromEntries(Object.entries(sd.state).map(([i, s]) => [i, Object.keys(s).sort()]));
    assert.deepEqual(keys, c.stateKeys);
    assert.deepEqual(Object.keys(sd.paramGroups[0]!).sort(), c.groupKeys.filter((k) => !IMPL_FLAGS.has(k)).map(camel).sort());
  });
}

test('optimizer stateDict round trip: a restored optimizer continues exactly like the original', () => {
  for (const c of fx.optimizers) {
    const a = fx.init.map((s) => fromStored(s, 'float64', true));
    const b = fx.init.map((s) => fromStored(s, 'float64', true));
    const optA = makeOptimizer(c, a);
    const half = 3;
    for (let k = 0; k < half; k++) {
      a.forEach((p, i) => { p.grad = fromStored(fx.grads[k]![i]!); });
      optA.step();
    }
    const snapshot = optA.stateDict();
    nb.noGrad(() => b.forEach((p, i) => p.copy_(a[i]!)));
    // a fresh optimizer with different options: loadStateDict restores options and state
    const optB = makeOptimizer({ ...c, opts: { ...c.opts, lr: 123 }, groups: c.groups?.map((g) => ({ ...g, lr: 456 })) }, b);
    optB.loadStateDict(snapshot);
    for (let k = half; k < c.trace.length; k++) {
      a.forEach((p, i) => { p.grad = fromStored(fx.grads[k]![i]!); });
      b.forEach((p, i) => { p.grad = fromStored(fx.grads[k]![i]!); });
      optA.step();
      optB.step();
    }
    a.forEach((p, i) => assertClose(b[i]!, p, { rtol: 0, atol: 0 }, `${label(c)} restored param ${i}`));
    b.forEach((p, i) => assertClose(p, fromStored(c.trace[c.trace.length - 1]![i]!), tol, `${label(c)} restored vs PyTorch`));
  }
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const SCHEDULERS: Record<string, new (opt: nb.optim.Optimizer, opts: any) => nb.optim.LRScheduler> = {
  StepLR: optim.StepLR, CosineAnnealingLR: optim.CosineAnnealingLR, LinearLR: optim.LinearLR,
};

for (const c of fx.schedulers) {
  const name = `${c.kind} ${JSON.stringify(c.opts)}${c.chain ? ` then ${c.chain.kind} ${JSON.stringify(c.chain.opts)}` : ''}`;
  test(`scheduler vs PyTorch: ${name}`, () => {
    const opt = new optim.SGD([{ params: [nb.zeros([1], { requiresGrad: true })] }, { params: [nb.zeros([1], { requiresGrad: true })], lr: 0.02 }], { lr: 0.1 });
    const scheds = [new SCHEDULERS[c.kind]!(opt, c.opts)];
    if (c.chain) scheds.push(new SCHEDULERS[c.chain.kind]!(opt, c.chain.opts));
    const lrs = [opt.paramGroups.map((g) => g.lr)];
    const last = [scheds[scheds.length - 1]!.getLastLr()];
    for (let k = 0; k < c.steps; k++) {
      opt.step();
      for (const s of scheds) s.step();
      lrs.push(opt.paramGroups.map((g) => g.lr));
      last.push(scheds[scheds.length - 1]!.getLastLr());
    }
    assertClose(lrs, c.lrs, { rtol: 1e-12, atol: 1e-15 }, `${name} lrs`);
    assertClose(last, c.lastLr, { rtol: 1e-12, atol: 1e-15 }, `${name} getLastLr`);
  });
}

test('scheduler stateDict round trip resumes the same lr sequence', () => {
  const mk = () => new optim.SGD([nb.zeros([1], { requiresGrad: true })], { lr: 0.1 });
  const optA = mk();
  const a = new optim.CosineAnnealingLR(optA, { tMax: 7, etaMin: 0.001 });
  for (let k = 0; k < 3; k++) a.step();
  const saved = a.stateDict();
  assert.equal(saved.lastEpoch, 3);
  assert.deepEqual(saved.baseLrs, [0.1]);
  const optB = mk();
  optB.loadStateDict(optA.stateDict());
  const b = new optim.CosineAnnealingLR(optB, { tMax: 7 });
  b.loadStateDict(saved);
  for (let k = 0; k < 6; k++) {
    a.step(); b.step();
    assert.deepEqual(b.getLastLr(), a.getLastLr());
    assert.equal(optB.paramGroups[0]!.lr, optA.paramGroups[0]!.lr);
  }
});

for (const c of fx.clip) {
  test(`clipGradNorm vs PyTorch: maxNorm ${c.maxNorm}, normType ${c.normType}`, () => {
    const params = c.grads.map((g) => { const p = nb.zeros(g.shape, { dtype: 'float64', requiresGrad: true }); p.grad = fromStored(g); return p; });
    const total = optim.clipGradNorm(params, c.maxNorm, c.normType);
    assert.deepEqual(total.shape, []);
    assertClose(total, c.total, tol, 'total norm');
    params.forEach((p, i) => assertClose(p.grad!, fromStored(c.clipped[i]!), tol, `clipped grad ${i}`));
  });
}
