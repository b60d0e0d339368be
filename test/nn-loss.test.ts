/** Losses and functional layers: gradcheck, stability in float32, clear errors, oneHot. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';

const { nn } = nb;
const F = nn.F;
type Tensor = nb.Tensor;

const gen = new nb.Generator(42);
const rnd = (shape: number[], grad = true) => nb.randn(shape, { dtype: 'float64', generator: gen, requiresGrad: grad });
const probs = (shape: number[]) => nb.rand(shape, { dtype: 'float64', generator: gen }).mul(0.9).add(0.05).detach().requiresGrad_(true);
const idx = (v: number[] | number[][]) => nb.tensor(v, { dtype: 'int32' });
const check = (fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]) => assert.equal(nb.autograd.gradcheck(fn, inputs, { atol: 1e-6, rtol: 1e-4 }), true);

for (const reduction of ['mean', 'sum', 'none'] as const) {
  test(`gradcheck: every loss with reduction '${reduction}'`, () => {
    const x = rnd([3, 4]), y = rnd([3, 4]);
    check((a, b) => F.mseLoss(a, b, { reduction }), [x, y]);
    check((a, b) => F.l1Loss(a, b, { reduction }), [x, y]);
    const p = probs([3, 4]), t = probs([3, 4]);
    check((a, b) => F.binaryCrossEntropy(a, b, { reduction }), [p, t]);
    check((a) => F.binaryCrossEntropy(a, t, { reduction, weight: nb.tensor([1, 2, 0.5, 3], { dtype: 'float64' }) }), [p]);
    check((a, b) => F.binaryCrossEntropyWithLogits(a, b, { reduction }), [x, t]);
    check((a, b) => F.binaryCrossEntropyWithLogits(a, b, { reduction, posWeight: nb.tensor([1, 2, 0.5, 3], { dtype: 'float64' }), weight: nb.tensor([[2], [1], [0.5]], { dtype: 'float64' }) }), [x, t]);
    const logits = rnd([4, 3]), cls = idx([0, 2, 1, 2]), w = nb.tensor([0.5, 2, 1], { dtype: 'float64' });
    check((a) => F.crossEntropy(a, cls, { reduction }), [logits]);
    check((a) => F.crossEntropy(a, idx([0, -100, 1, 2]), { reduction, weight: w, labelSmoothing: 0.2 }), [logits]);
    check((a) => F.crossEntropy(a, idx([[0, 1], [2, 2]]), { reduction, labelSmoothing: 0.1 }), [rnd([2, 3, 2])]);
    check((a, b) => F.crossEntropy(a, b, { reduction }), [logits, probs([4, 3])]);
    check((a) => F.nllLoss(a, cls, { reduction, weight: w }), [logits]);
  });
}

test('gradcheck: linear and the activations', () => {
  check((x, w, b) => F.linear(x, w, b), [rnd([3, 4]), rnd([2, 4]), rnd([2])]);
  check((x, w) => F.linear(x, w), [rnd([2, 3, 4]), rnd([5, 4])]);
  check((x, w) => F.linear(x, w), [rnd([3, 4]), rnd([5, 4])]);
  // the fused 2-D path (one product, bias added in place) equals the composite, values and second derivatives
  const [x2, w2, b2] = [rnd([3, 4]), rnd([2, 4]), rnd([2])];
  const fused = F.linear(x2, w2, b2), composite = nb.add(nb.matmul(x2, w2.T), b2);
  assert.equal(fused.gradFn?.name, 'AddmmBackward');
  assert.deepEqual(fused.toArray(), composite.toArray());
  check((a, w, b) => nb.enableGrad(() => nb.autograd.grad(F.linear(a, w, b).sigmoid().sum(), [a, w, b], { createGraph: true })[1]!.sum()), [x2, w2, b2]);
  const x = rnd([3, 4]);
  check((a) => F.sigmoid(a), [x]);
  check((a) => F.tanh(a), [x]);
  check((a) => F.leakyRelu(a, 0.2), [x]);
  check((a) => F.gelu(a), [x]);
  check((a) => F.gelu(a, { approximate: 'tanh' }), [x]);
  check((a) => F.softmax(a, 0), [x]);
  check((a) => F.logSoftmax(a, 1), [x]);
});

test('double backward through the custom loss rules (createGraph)', () => {
  const x = rnd([5]), t = probs([5]).detach();
  const [g] = nb.autograd.grad(F.binaryCrossEntropyWithLogits(x, t, { reduction: 'sum' }), [x], { createGraph: true });
  // d/dx Σ(σ(x) − t) = σ(x)(1 − σ(x))
  const [gg] = nb.autograd.grad(g!.sum(), [x]);
  const s = x.detach().sigmoid();
  assert.ok(gg!.sub(s.mul(s.neg().add(1))).abs().max().item() < 1e-12);
  const p = probs([5]);
  const [gp] = nb.autograd.grad(F.binaryCrossEntropy(p, t, { reduction: 'sum' }), [p], { createGraph: true });
  assert.equal(nb.autograd.gradcheck((a) => nb.enableGrad(() => nb.autograd.grad(F.binaryCrossEntropy(a, t, { reduction: 'sum' }), [a], { createGraph: true })[0]!), [p]), true);
  assert.ok(gp!.requiresGrad);
});

test('float32 losses stay finite at logits of ±1000 and probabilities of exactly 0 and 1', () => {
  const logits = nb.tensor([[1000, -1000, 0], [-1000, -1000, 1000]], { requiresGrad: true });
  const ce = F.crossEntropy(logits, idx([1, 0]), { labelSmoothing: 0.1 });
  ce.backward();
  // nll: (2000 + 2000)/2; smoothing: −Σ logp = (3000 + 4000)/2
  assert.ok(Math.abs(ce.item() - (0.9 * 2000 + (0.1 / 3) * 3500)) < 1e-2, `got ${ce.item()}`);
  assert.ok(Array.from(logits.grad!.dataSync()).every(Number.isFinite));
  const z = nb.tensor([1000, -1000, 1000, -1000], { requiresGrad: true });
  const bl = F.binaryCrossEntropyWithLogits(z, nb.tensor([1, 0, 0, 1]), { reduction: 'none' });
  assert.deepEqual(Array.from(bl.dataSync(), (v) => v + 0), [0, 0, 1000, 1000]);
  bl.sum().backward();
  assert.deepEqual(Array.from(z.grad!.dataSync()), [0, 0, 1, -1]);
  const p = nb.tensor([0, 1, 0, 1], { requiresGrad: true });
  const b = F.binaryCrossEntropy(p, nb.tensor([0, 1, 1, 0]), { reduction: 'none' });
  assert.deepEqual(Array.from(b.dataSync(), (v) => v + 0), [0, 0, 100, 100]); // + 0 turns −0 into 0
  b.sum().backward();
  assert.ok(Array.from(p.grad!.dataSync()).every(Number.isFinite));
});

test('one-hot int32 targets work directly with BCE and MSE (converted to the input dtype)', () => {
  const labels = idx([2, 0, 1]);
  const oh = F.oneHot(labels, 4);
  assert.equal(oh.dtype, 'int32');
  assert.deepEqual(oh.toArray(), [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]);
  assert.deepEqual(F.oneHot(idx([[1], [3]])).shape, [2, 1, 4]);
  const p = nb.full([3, 4], 0.5);
  assert.ok(Math.abs(F.binaryCrossEntropy(p, oh).item() - Math.LN2) < 1e-6);
  assert.ok(Math.abs(F.mseLoss(p, oh).item() - 0.25) < 1e-7);
  assert.throws(() => F.oneHot(idx([1, 5]), 4), /class value 5 is out of range for numClasses 4/);
  assert.throws(() => F.oneHot(idx([2, -3, 1]), 4), /class values must be non-negative, got -3/);
  assert.throws(() => F.oneHot(idx([0, 3, 7, 1]), 4), /class value 7 is out of range for numClasses 4/);
  assert.throws(() => F.oneHot(nb.tensor([1, 2])), /expected int32 class indices/);
});

test('errors name the op, the argument and the shapes', () => {
  assert.throws(() => F.linear(nb.zeros([32, 28, 28]), nb.zeros([100, 784])), /^Error: linear: input \[32, 28, 28\] does not match weight \[100, 784\]/);
  assert.throws(() => new nn.Linear(784, 100).call(nb.zeros([32, 28, 28])), /linear: input \[32, 28, 28\] does not match weight \[100, 784\]/);
  assert.throws(() => F.linear(nb.zeros([2, 3]), nb.zeros([4, 3]), nb.zeros([3])), /linear: bias \[3\] does not match weight \[4, 3\]/);
  assert.throws(() => F.crossEntropy(nb.zeros([2, 10]), idx([3, 10])), /crossEntropy: target 10 is out of range for 10 classes/);
  assert.throws(() => F.crossEntropy(nb.zeros([2, 10]), idx([-1, 3])), /crossEntropy: target -1 is out of range for 10 classes/);
  assert.throws(() => F.crossEntropy(nb.zeros([32, 10]), idx([1, 2, 3])), /crossEntropy: target \[3\] does not match input \[32, 10\] \(expected target \[32\]\)/);
  assert.throws(() => F.crossEntropy(nb.zeros([2, 10]), nb.tensor([1, 2])), /crossEntropy: target must hold int32 class indices of shape \[2\] or float32 class probabilities of shape \[2, 10\], got float32 \[2\]/);
  assert.throws(() => F.nllLoss(nb.zeros([2, 3]), idx([0, 3])), /nllLoss: target 3 is out of range for 3 classes/);
  assert.throws(() => F.crossEntropy(nb.zeros([2, 3]), idx([0, 1]), { weight: nb.ones([4]) }), /crossEntropy: weight \[4\] must have one entry per class \(\[3\]\)/);
  assert.throws(() => F.mseLoss(nb.zeros([64, 10]), nb.zeros([64])), /mseLoss: target \[64\] does not match input \[64, 10\]/);
  assert.throws(() => F.binaryCrossEntropy(nb.zeros([4, 1]), nb.zeros([4])), /binaryCrossEntropy: target \[4\] does not match input \[4, 1\]/);
  assert.throws(() => F.binaryCrossEntropy(nb.tensor([0.5, 1.5]), nb.tensor([0, 1])), /binaryCrossEntropy: all elements of input should be probabilities between 0 and 1, found 1.5/);
  assert.throws(() => F.mseLoss(nb.zeros([2]), nb.zeros([2]), { reduction: 'avg' as 'mean' }), /mseLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'/);
  assert.throws(() => F.crossEntropy(nb.zeros([2, 3], { dtype: 'int32' }), idx([0, 1])), /crossEntropy: input must be floating point/);
  assert.throws(() => F.mseLoss(nb.zeros([2]), null as unknown as Tensor), /mseLoss: argument 'target' must be a Tensor, got null/);
});

test('crossEntropy: all targets ignored gives NaN for mean (as PyTorch) and 0 for sum', () => {
  const x = nb.randn([2, 3]);
  assert.ok(Number.isNaN(F.crossEntropy(x, idx([-100, -100])).item()));
  assert.equal(F.crossEntropy(x, idx([-100, -100]), { reduction: 'sum' }).item(), 0);
});

test('loss modules validate options and run through call()', () => {
  const crit = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
  const x = nb.randn([4, 3], { requiresGrad: true });
  const loss = crit.call(x, idx([0, 1, 2, 0]));
  loss.backward();
  assert.deepEqual(loss.shape, []);
  assert.deepEqual(x.grad!.shape, [4, 3]);
  assert.throws(() => new nn.MSELoss({ reduction: 'total' as 'sum' }), /MSELoss: reduction must be/);
  assert.throws(() => new nn.CrossEntropyLoss({ labelSmoothing: 2 }), /labelSmoothing must be between 0 and 1/);
});
