import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { classic, nn, type Tensor } from '../src/index.js';

function relErr(a: Tensor, b: Tensor): number {
  const x = a.contiguous().dataSync(), y = b.contiguous().dataSync();
  let num = 0, den = 0;
  for (let i = 0; i < x.length; i++) { num = Math.max(num, Math.abs(x[i]! - y[i]!)); den = Math.max(den, Math.abs(y[i]!)); }
  return den === 0 ? num : num / den;
}

test('stateDict keys are nn.Sequential\'s: activations take a slot, identity does not', () => {
  const net = new classic.Network([784, 100, 10], { hidden: 'sigmoid', loss: 'bce' });
  assert.deepEqual(Object.keys(net.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.deepEqual(net.stateDict()['0.weight']!.shape, [100, 784]); // [out, in], as nn.Linear
  const lin = new classic.Network([4, 3, 3, 2], { activations: ['identity', 'relu', 'identity'] });
  assert.deepEqual(Object.keys(lin.stateDict()), ['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias']);
});

test('toModule: same keys, same outputs; loadStateDict goes both ways', () => {
  const g = new nb.Generator(2);
  const net = new classic.Network([6, 5, 4, 3], { hidden: 'tanh', output: 'sigmoid', loss: 'bce', dtype: 'float64', generator: g });
  const model = classic.toModule(net);
  assert.deepEqual(Object.keys(model.stateDict()), Object.keys(net.stateDict()));
  const x = nb.randn([7, 6], { dtype: 'float64', generator: g });
  assert.ok(relErr(classic.forward(net, x).output, model.call(x)) < 1e-15);

  const other = new classic.Network([6, 5, 4, 3], { hidden: 'tanh', output: 'sigmoid', loss: 'bce', dtype: 'float64' });
  other.loadStateDict(model.stateDict());
  assert.ok(relErr(classic.forward(other, x).output, model.call(x)) < 1e-15);
  assert.throws(() => other.loadStateDict({ ...model.stateDict(), '0.weight': nb.zeros([5, 7], { dtype: 'float64' }) }),
    /'0\.weight' has shape \[5, 7\], layer 0 needs \[5, 6\]/);
  assert.throws(() => other.loadStateDict({ '0.weight': nb.zeros([5, 6]) }), /missing keys \[0\.bias, 2\.weight/);
});

test('fromModule reads Flatten, Linear and activations; copyToModule writes back', () => {
  nb.manualSeed(4);
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(12, 8), new nn.ReLU(), new nn.Linear(8, 5));
  const net = classic.fromModule(model, { loss: 'crossEntropy' });
  assert.deepEqual(net.sizes, [12, 8, 5]);
  assert.deepEqual(net.layers.map((l) => l.activation), ['relu', 'identity']);
  const x = nb.randn([3, 2, 6]);
  assert.ok(relErr(classic.forward(net, x.reshape(3, 12)).output, model.call(x)) < 1e-6);
  // the copy is independent until written back
  classic.updateWeights(net, classic.backpropagate(net, classic.forward(net, x.reshape(3, 12)), nb.tensor([0, 4, 2], { dtype: 'int32' })), 1);
  assert.ok(relErr(classic.forward(net, x.reshape(3, 12)).output, model.call(x)) > 1e-3);
  classic.copyToModule(net, model);
  assert.ok(relErr(classic.forward(net, x.reshape(3, 12)).output, model.call(x)) < 1e-6);

  assert.throws(() => classic.fromModule(new nn.Sequential(new nn.Linear(3, 3), new nn.Dropout(0.5))), /module '1' \(Dropout\) cannot be read/);
  assert.throws(() => classic.fromModule(new nn.Sequential(new nn.Linear(3, 3, { bias: false }))), /has no bias/);
  assert.throws(() => classic.fromModule(model, { loss: 'bce' }), /loss 'bce' needs output activation 'sigmoid', got 'identity'/);
});

test('gradients equal autograd through nn modules and nn.functional losses (float64)', () => {
  const g = new nb.Generator(9);
  const cases: { loss: classic.Loss; output: classic.Activation; lossFn: (out: Tensor, y: Tensor) => Tensor; target: (n: number, c: number) => Tensor }[] = [
    { loss: 'mse', output: 'tanh', lossFn: (o, y) => nn.F.mseLoss(o, y), target: (n, c) => nb.randn([n, c], { dtype: 'float64', generator: g }) },
    { loss: 'bce', output: 'sigmoid', lossFn: (o, y) => nn.F.binaryCrossEntropy(o, y), target: (n, c) => nb.rand([n, c], { dtype: 'float64', generator: g }) },
    { loss: 'crossEntropy', output: 'identity', lossFn: (o, y) => nn.F.crossEntropy(o, y), target: (n, c) => nb.randint(0, c, [n], { generator: g }) },
  ];
  for (const c of cases) {
    for (const hidden of classic.ACTIVATIONS) {
      const net = new classic.Network([5, 6, 6, 4], { hidden, output: c.output, loss: c.loss, dtype: 'float64', generator: g });
      const model = classic.toModule(net);
      const x = nb.randn([8, 5], { dtype: 'float64', generator: g }), y = c.target(8, 4);
      const lossT = c.lossFn(model.call(x), y);
      lossT.backward();
      const pass = classic.forward(net, x);
      assert.ok(Math.abs(classic.calculateLoss(net, pass, y) - lossT.item()) < 1e-12, `${c.loss}/${hidden}: loss`);
      const grads = classic.backpropagate(net, pass, y);
      const linears = model.children().filter((m): m is nn.Linear => m instanceof nn.Linear);
      linears.forEach((lin, l) => {
        assert.ok(relErr(grads.weight[l]!, lin.weight.grad!) <= 1e-10, `${c.loss}/${hidden}: ∇W[${l}]`);
        assert.ok(relErr(grads.bias[l]!, lin.bias!.grad!) <= 1e-10, `${c.loss}/${hidden}: ∇b[${l}]`);
      });
    }
  }
});

test('errors name the step, the argument and the shapes', () => {
  const net = new classic.Network([784, 100, 10], { loss: 'bce' });
  assert.throws(() => classic.forward(net, nb.zeros([32, 28, 28])), /classic\.forward: input \[32, 28, 28\] does not match layer 0 weight \[100, 784\] \(expected \[N, 784\]\); flatten it first/);
  const pass = classic.forward(net, nb.zeros([4, 784]));
  assert.throws(() => classic.backpropagate(net, pass, nb.zeros([4, 9])), /classic\.backpropagate: target \[4, 9\] does not match output \[4, 10\] for loss 'bce'/);
  assert.throws(() => classic.calculateLoss(net, pass, nb.full([4, 10], 2)), /needs targets in \[0, 1\], found 2/);
  assert.throws(() => classic.calculateLoss(net, pass, nb.tensor([0, 1, 2, 10], { dtype: 'int32' })), /label 10 at index 3 is out of range for 10 classes/);
  assert.throws(() => new classic.Network([4, 2], { loss: 'crossEntropy', output: 'sigmoid' }), /crossEntropy applies softmax itself/);
  assert.throws(() => new classic.Network([4, 2], { hidden: 'gelu' as classic.Activation, activations: ['gelu' as classic.Activation] }), /unknown activation 'gelu'/);
  assert.throws(() => new classic.Network([4]), /at least 2 positive integers/);
  assert.throws(() => classic.updateWeights(net, classic.backpropagate(net, pass, nb.zeros([4, 10])), NaN), /lr must be a finite number/);
  const one = new classic.Network([3, 1], { loss: 'bce' });
  assert.throws(() => classic.calculateLoss(one, classic.forward(one, nb.zeros([2, 3])), nb.zeros([2])), /use target\.unsqueeze\(1\)/);
});

test('the same seed gives the same initial weights as the equivalent nn.Sequential', () => {
  nb.manualSeed(3);
  const net = new classic.Network([5, 4, 3], { hidden: 'sigmoid', output: 'sigmoid', loss: 'bce' });
  nb.manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(5, 4), new nn.Sigmoid(), new nn.Linear(4, 3), new nn.Sigmoid());
  const a = net.stateDict(), b = model.stateDict();
  assert.deepEqual(Object.keys(a), Object.keys(b));
  for (const k of Object.keys(a)) assert.deepEqual(a[k]!.toArray(), b[k]!.toArray(), k);
  const bound = 1 / Math.sqrt(5);
  assert.ok(net.layers[0]!.weight.abs().max().item() <= bound);
});
