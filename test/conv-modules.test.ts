import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as nb from '../src/index.js';
import { nn } from '../src/index.js';
import type { Tensor } from '../src/index.js';

interface Fx { shape: number[]; data: number[] }
interface ModuleFx {
  name: string; module: string; args: unknown[]; opts: Record<string, unknown>;
  weight?: Fx; bias?: Fx; train_inputs?: Fx[]; train_outputs?: Fx[]; eval_input?: Fx; eval_output?: Fx;
  input?: Fx; output?: Fx; state: Record<string, Fx>;
}
interface CnnFx { state: Record<string, Fx>; input: Fx; target: number[]; loss: number; grads: Record<string, Fx> }
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/conv.json', import.meta.url), 'utf8')) as { modules: ModuleFx[]; cnn: CnnFx };
const byName = (n: string): ModuleFx => fixtures.modules.find((m) => m.name === n)!;

const f64 = (f: Fx): Tensor => nb.tensor(f.data, { shape: f.shape, dtype: 'float64' });

function close(actual: Tensor, expected: Fx, what: string, rtol = 1e-6): void {
  assert.deepEqual([...actual.shape], expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  expected.data.forEach((e, i) => {
    if (!(Math.abs(a[i]! - e) <= 1e-9 + rtol * Math.abs(e))) assert.fail(`${what}: element ${i} is ${a[i]}, PyTorch ${e}`);
  });
}

function loadFixtureState(m: nn.Module, state: Record<string, Fx>): void {
  m.loadStateDict(Object.fromEntries(Object.entries(state).map(([k, v]) => [k, nb.tensor(v.data, { shape: v.shape, dtype: 'float64' })])));
}

test('BatchNorm2d with momentum null (cumulative average) matches PyTorch over three steps and in eval', () => {
  const fx = byName('BatchNorm2d momentum None');
  const bn = new nn.BatchNorm2d(3, { momentum: null, dtype: 'float64' });
  nb.noGrad(() => { bn.weight!.copy_(f64(fx.weight!)); bn.bias!.copy_(f64(fx.bias!)); });
  fx.train_inputs!.forEach((x, i) => close(bn.call(f64(x)), fx.train_outputs![i]!, `train step ${i}`));
  bn.eval();
  close(bn.call(f64(fx.eval_input!)), fx.eval_output!, 'eval');
  const sd = bn.stateDict();
  assert.deepEqual(Object.keys(sd), Object.keys(fx.state));
  assert.deepEqual(Object.keys(sd), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  close(sd.running_mean!, fx.state.running_mean!, 'running_mean');
  close(sd.running_var!, fx.state.running_var!, 'running_var');
  assert.equal(sd.num_batches_tracked!.item(), 3);
  assert.equal(sd.num_batches_tracked!.dtype, 'int32');
});

test('BatchNorm1d with default momentum matches PyTorch (outputs, running stats, gradients flow to weight and bias)', () => {
  const fx = byName('BatchNorm1d');
  const bn = new nn.BatchNorm1d(4, { dtype: 'float64' });
  fx.train_inputs!.forEach((x, i) => close(bn.call(f64(x)), fx.train_outputs![i]!, `train step ${i}`));
  close(bn.running_mean!, fx.state.running_mean!, 'running_mean');
  close(bn.running_var!, fx.state.running_var!, 'running_var');
  assert.equal(bn.num_batches_tracked!.item(), 2);
  bn.call(f64(fx.train_inputs![0]!)).pow(2).sum().backward();
  assert.ok(bn.weight!.grad && bn.bias!.grad);
});

test('Conv2d loads a PyTorch state dict and reproduces its output', () => {
  const fx = byName('Conv2d');
  const conv = new nn.Conv2d(4, 6, [3, 2], { stride: 2, padding: 1, groups: 2, dtype: 'float64' });
  assert.deepEqual(Object.keys(conv.stateDict()), ['weight', 'bias']);
  assert.deepEqual(conv.weight.shape, fx.state.weight!.shape);
  loadFixtureState(conv, fx.state);
  close(conv.call(f64(fx.input!)), fx.output!, 'output');
});

test('a small CNN (conv, relu, max-pool, linear, cross-entropy) matches PyTorch loss and every gradient', () => {
  const fx = fixtures.cnn;
  const net = new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { dtype: 'float64' }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(4, 6, 3, { dtype: 'float64' }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(24, 8, { dtype: 'float64' }), new nn.ReLU(), new nn.Linear(8, 3, { dtype: 'float64' }));
  assert.deepEqual(Object.keys(net.stateDict()), Object.keys(fx.state));
  loadFixtureState(net, fx.state);
  const loss = nn.F.crossEntropy(net.call(f64(fx.input)), nb.tensor(fx.target, { dtype: 'int32' }));
  assert.ok(Math.abs(loss.item() - fx.loss) < 1e-9, `loss ${loss.item()} vs ${fx.loss}`);
  loss.backward();
  for (const [k, p] of net.namedParameters()) close(p.grad!, fx.grads[k]!, `grad ${k}`);
});

test('PyTorch default initialisation: Conv2d U(±1/√fanIn), BatchNorm ones/zeros and fresh running stats', () => {
  nb.manualSeed(0);
  const conv = new nn.Conv2d(8, 16, 3, { groups: 2 });
  const bound = 1 / Math.sqrt(4 * 9); // fanIn = inChannels/groups · kh · kw
  for (const t of [conv.weight, conv.bias!]) {
    const v = t.dataSync();
    assert.ok(v.every((x) => Math.abs(x) <= bound), 'inside the bound');
  }
  const w = Array.from(conv.weight.dataSync()), std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.1 * bound, `std ${std} of a uniform on ±${bound}`);
  const bn = new nn.BatchNorm2d(5);
  assert.deepEqual(bn.weight!.toArray(), [1, 1, 1, 1, 1]);
  assert.deepEqual(bn.bias!.toArray(), [0, 0, 0, 0, 0]);
  assert.deepEqual(bn.running_mean!.toArray(), [0, 0, 0, 0, 0]);
  assert.deepEqual(bn.running_var!.toArray(), [1, 1, 1, 1, 1]);
  assert.equal(bn.num_batches_tracked!.item(), 0);
  assert.equal(bn.parameters().length, 2);
  const plain = new nn.BatchNorm2d(5, { affine: false, trackRunningStats: false });
  assert.deepEqual(Object.keys(plain.stateDict()), []);
  const x = nb.randn([4, 5, 2, 2]).mul(3).add(1);
  plain.eval(); // no running stats: batch statistics even in eval mode
  const y = plain.call(x);
  assert.ok(Math.abs(y.mean().item()) < 1e-5);
});

test('module reprs read like PyTorch', () => {
  assert.equal(new nn.Conv2d(1, 32, 3).toString(), 'Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))');
  assert.equal(new nn.Conv2d(4, 6, [3, 2], { stride: 2, padding: 1, groups: 2, bias: false }).toString(),
    'Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), groups=2, bias=False)');
  assert.equal(new nn.Conv2d(2, 2, 3, { padding: 'same', dilation: 2 }).toString(), 'Conv2d(2, 2, kernel_size=(3, 3), stride=(1, 1), padding=same, dilation=(2, 2))');
  assert.equal(new nn.MaxPool2d(2).toString(), 'MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)');
  assert.equal(new nn.MaxPool2d([3, 2], { stride: 1, padding: 1, ceilMode: true }).toString(), 'MaxPool2d(kernel_size=(3, 2), stride=1, padding=1, dilation=1, ceil_mode=True)');
  assert.equal(new nn.AvgPool2d(2).toString(), 'AvgPool2d(kernel_size=2, stride=2, padding=0)');
  assert.equal(new nn.AdaptiveAvgPool2d(1).toString(), 'AdaptiveAvgPool2d(output_size=1)');
  assert.equal(new nn.AdaptiveAvgPool2d([3, null]).toString(), 'AdaptiveAvgPool2d(output_size=(3, None))');
  assert.equal(new nn.BatchNorm2d(32).toString(), 'BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)');
  assert.equal(new nn.BatchNorm1d(4, { momentum: null, eps: 1e-3, affine: false }).toString(), 'BatchNorm1d(4, eps=0.001, momentum=None, affine=False, track_running_stats=True)');
  assert.equal(new nn.Dropout2d(0.25).toString(), 'Dropout2d(p=0.25, inplace=False)');
});

test('Dropout2d zeroes whole channels, scales the rest by 1/(1 − p), and is the identity in eval mode', () => {
  const drop = new nn.Dropout2d(0.5, { generator: new nb.Generator(3) });
  const x = nb.ones([16, 32, 3, 3]);
  const y = drop.call(x);
  const v = y.dataSync();
  let dropped = 0;
  for (let ch = 0; ch < 16 * 32; ch++) {
    const plane = v.subarray(ch * 9, ch * 9 + 9);
    assert.ok(plane.every((e) => e === plane[0]) && (plane[0] === 0 || plane[0] === 2), `channel ${ch} is all 0 or all 2`);
    if (plane[0] === 0) dropped++;
  }
  assert.ok(dropped > 200 && dropped < 312, `${dropped} of 512 channels dropped at p = 0.5`);
  drop.eval();
  assert.equal(drop.call(x), x);
  const xg = nb.ones([2, 3, 2, 2], { requiresGrad: true });
  nn.F.dropout2d(xg, 0.5, { generator: new nb.Generator(1) }).sum().backward();
  assert.ok(xg.grad!.dataSync().every((g) => g === 0 || g === 2));
});

test('layer errors name the layer and the shapes', () => {
  assert.throws(() => new nn.Conv2d(1, 32, 3).call(nb.zeros([64, 784])), /Conv2d: expected input \[N, 1, H, W\] .*got \[64, 784\]/);
  assert.throws(() => new nn.Conv2d(1, 32, 3).call(nb.zeros([64, 3, 28, 28])), /Conv2d\(1, 32\): expected input \[N, 1, H, W\] with 1 channels, got \[64, 3, 28, 28\] with 3/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: inChannels 3 and outChannels 4 must both be divisible by groups 2/);
  assert.throws(() => new nn.BatchNorm2d(8).call(nb.zeros([4, 8])), /BatchNorm2d: expected input \[N, 8, H, W\], got \[4, 8\]/);
  assert.throws(() => new nn.BatchNorm2d(8).call(nb.zeros([4, 3, 2, 2])), /BatchNorm2d\(8\): expected 8 channels in dim 1, got input \[4, 3, 2, 2\]/);
  assert.throws(() => new nn.BatchNorm1d(8).call(nb.zeros([4, 8, 2, 2])), /BatchNorm1d: expected input \[N, 8\] or \[N, 8, L\], got \[4, 8, 2, 2\]/);
  assert.throws(() => new nn.MaxPool2d(2).call(nb.zeros([64, 784])), /maxPool2d: expected input \[N, C, H, W\]/);
});
