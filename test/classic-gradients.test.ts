import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { classic, type Tensor } from '../src/index.js';

type Act = classic.Activation;

/** max |a − b| / max |b|: the relative error of a whole tensor. */
function relErr(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.contiguous().dataSync(), y = b.contiguous().dataSync();
  let num = 0, den = 0;
  for (let i = 0; i < x.length; i++) { num = Math.max(num, Math.abs(x[i]! - y[i]!)); den = Math.max(den, Math.abs(y[i]!)); }
  return den === 0 ? num : num / den;
}

const applyAct = (f: Act, z: Tensor): Tensor => (f === 'sigmoid' ? z.sigmoid() : f === 'tanh' ? z.tanh() : f === 'relu' ? z.relu() : z);

/** The same network written with autograd ops, with PyTorch's loss definitions. */
function autogradReference(net: classic.Network, x: Tensor, target: Tensor) {
  const params = net.layers.map((l) => ({ w: l.weight.clone().requiresGrad_(), b: l.bias.clone().requiresGrad_() }));
  const zs: Tensor[] = [];
  let a = x;
  net.layers.forEach((layer, l) => {
    const z = a.matmul(params[l]!.w.T).add(params[l]!.b);
    z.retainGrad();
    zs.push(z);
    a = applyAct(layer.activation, z);
  });
  let loss: Tensor;
  if (net.loss === 'mse') loss = a.sub(target).square().mean();
  else if (net.loss === 'bce') loss = target.mul(a.log()).add(nb.sub(1, target).mul(nb.sub(1, a).log())).mean().neg();
  else if (target.dtype === 'int32') loss = a.logSoftmax(1).gather(1, target.unsqueeze(1)).mean().neg();
  else loss = target.mul(a.logSoftmax(1)).sum(1).mean().neg();
  loss.backward();
  return { loss: loss.item(), params, zs };
}

function makeTarget(loss: classic.Loss, n: number, c: number, g: nb.Generator, labels = false): Tensor {
  if (loss === 'mse') return nb.randn([n, c], { dtype: 'float64', generator: g });
  if (loss === 'bce') return nb.rand([n, c], { dtype: 'float64', generator: g });
  const cls = nb.randint(0, c, [n], { generator: g });
  return labels ? cls : classic.oneHot(cls, c, 'float64');
}

const cases: { loss: classic.Loss; outputs: Act[] }[] = [
  { loss: 'mse', outputs: ['sigmoid', 'tanh', 'relu', 'identity'] },
  { loss: 'bce', outputs: ['sigmoid'] },
  { loss: 'crossEntropy', outputs: ['identity'] },
];

test('classic gradients equal autograd for every depth, activation and loss (float64, ≤ 1e-10 relative)', () => {
  const g = new nb.Generator(1234);
  let checked = 0, worst = 0;
  for (const depth of [1, 2, 3, 5]) {
    for (const hidden of classic.ACTIVATIONS) {
      if (depth === 1 && hidden !== 'sigmoid') continue; // no hidden layer: the hidden activation is unused
      for (const { loss, outputs } of cases) {
        for (const output of outputs) {
          const sizes = [7, ...Array.from({ length: depth - 1 }, (_, i) => 6 + (i % 3)), loss === 'bce' ? 3 : 4];
          const net = new classic.Network(sizes, { hidden, output, loss, dtype: 'float64', generator: g });
          const n = 9;
          const x = nb.randn([n, 7], { dtype: 'float64', generator: g });
          const target = makeTarget(loss, n, sizes[sizes.length - 1]!, g, checked % 2 === 1);
          const what = `depth ${depth}, hidden ${hidden}, output ${output}, loss ${loss}`;

          const pass = classic.forward(net, x);
          const loss1 = classic.calculateLoss(net, pass, target);
          const grads = classic.backpropagate(net, pass, target);
          const ref = autogradReference(net, x, target);

          assert.ok(Math.abs(loss1 - ref.loss) <= 1e-12 * Math.max(1, Math.abs(ref.loss)), `${what}: loss ${loss1} vs ${ref.loss}`);
          net.layers.forEach((_, l) => {
            const ew = relErr(grads.weight[l]!, ref.params[l]!.w.grad!), eb = relErr(grads.bias[l]!, ref.params[l]!.b.grad!);
            assert.ok(ew <= 1e-10, `${what}: ∇W[${l}] relative error ${ew}`);
            assert.ok(eb <= 1e-10, `${what}: ∇b[${l}] relative error ${eb}`);
            // δ is the per-sample error: N · ∂L/∂z, the vector-Jacobian product autograd leaves on z
            const ed = relErr(grads.deltas[l]!, ref.zs[l]!.grad!.mul(n));
            assert.ok(ed <= 1e-10, `${what}: δ[${l}] relative error ${ed}`);
            worst = Math.max(worst, ew, eb, ed);
          });
          checked++;
        }
      }
    }
  }
  if (process.env.CLASSIC_VERBOSE) console.log(`worst relative error over ${checked} networks: ${worst.toExponential(2)}`);
  assert.equal(checked, 6 + 3 * 4 * 6); // depth 1: 6 output/loss pairs; depths 2, 3, 5: 4 hidden activations × 6
});

test('gradients stay exact with larger batches and wide layers', () => {
  const g = new nb.Generator(7);
  const net = new classic.Network([30, 40, 25, 10], { hidden: 'tanh', loss: 'crossEntropy', dtype: 'float64', generator: g });
  const x = nb.randn([64, 30], { dtype: 'float64', generator: g });
  const y = nb.randint(0, 10, [64], { generator: g });
  const grads = classic.backpropagate(net, classic.forward(net, x), y);
  const ref = autogradReference(net, x, y);
  net.layers.forEach((_, l) => assert.ok(relErr(grads.weight[l]!, ref.params[l]!.w.grad!) <= 1e-10));
});

test('crossEntropy: class labels and one-hot rows give the same loss and gradients', () => {
  const g = new nb.Generator(3);
  const net = new classic.Network([5, 4, 3], { loss: 'crossEntropy', dtype: 'float64', generator: g });
  const x = nb.randn([6, 5], { dtype: 'float64', generator: g });
  const labels = nb.tensor([0, 2, 1, 1, 0, 2], { dtype: 'int32' });
  const pass = classic.forward(net, x);
  assert.equal(classic.calculateLoss(net, pass, labels), classic.calculateLoss(net, pass, classic.oneHot(labels, 3, 'float64')));
  const a = classic.backpropagate(net, pass, labels), b = classic.backpropagate(net, pass, classic.oneHot(labels, 3, 'float64'));
  assert.deepEqual(a.weight[0]!.toArray(), b.weight[0]!.toArray());
});

test('no autograd inside: nothing is recorded even when the input requires grad', () => {
  const net = new classic.Network([3, 4, 2], { dtype: 'float64' });
  const x = nb.randn([5, 3], { dtype: 'float64' }).requiresGrad_();
  const pass = classic.forward(net, x);
  const grads = classic.backpropagate(net, pass, nb.randn([5, 2], { dtype: 'float64' }));
  for (const t of [...pass.z, ...pass.a, ...grads.deltas, ...grads.weight, ...grads.bias]) {
    assert.equal(t.requiresGrad, false);
    assert.equal(t.gradFn, null);
  }
});

test('updateWeights is plain SGD: W ← W − η∇W', () => {
  const g = new nb.Generator(11);
  const net = new classic.Network([4, 3, 2], { loss: 'bce', dtype: 'float64', generator: g });
  const before = net.clone();
  const x = nb.randn([8, 4], { dtype: 'float64', generator: g }), y = nb.rand([8, 2], { dtype: 'float64', generator: g });
  const grads = classic.backpropagate(net, classic.forward(net, x), y);
  classic.updateWeights(net, grads, 0.5);
  net.layers.forEach((layer, l) => {
    assert.ok(relErr(layer.weight, before.layers[l]!.weight.sub(grads.weight[l]!.mul(0.5))) < 1e-15);
    assert.ok(relErr(layer.bias, before.layers[l]!.bias.sub(grads.bias[l]!.mul(0.5))) < 1e-15);
  });
});

test('training lowers the loss and records every layer', () => {
  const g = new nb.Generator(5);
  const net = new classic.Network([2, 8, 8, 1], { hidden: 'tanh', loss: 'bce', dtype: 'float64', generator: g });
  // XOR-like data: the class is whether x₀ and x₁ have the same sign
  const x = nb.randn([64, 2], { dtype: 'float64', generator: g });
  const xa = x.dataSync();
  const y = nb.tensor(Array.from({ length: 64 }, (_, i) => [xa[2 * i]! * xa[2 * i + 1]! > 0 ? 1 : 0]), { dtype: 'float64' });
  const first = classic.trainStep(net, x, y, { lr: 0.5, record: true });
  assert.equal(first.layers!.length, 3);
  for (const s of first.layers!) {
    assert.ok(s.deltaNorm > 0 && s.weightGradNorm > 0 && s.biasGradNorm > 0 && s.meanDerivative > 0 && s.meanDerivative <= 1);
  }
  let last = first.loss;
  for (let i = 0; i < 400; i++) last = classic.trainStep(net, x, y, { lr: 0.5 }).loss;
  assert.ok(last < 0.5 * first.loss, `loss ${first.loss} → ${last}`);
  assert.ok(classic.evaluate(net, x, y).accuracy > 0.9);
});
