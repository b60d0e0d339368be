/**
 * Common wrong versions of backpropagation, measured against the correct one (numbers quoted in
 * docs/backprop.md). The network is the classic 784-100-10 sigmoid network with BCE on one-hot
 * targets; each wrong version is a one-line change to the backward pass of the explicit engine.
 *
 *   npx tsx examples/classic-common-mistakes.ts
 */
import { type Tensor, Generator, classic, data, datasets, manualSeed, noGrad } from '../src/index.js';

type Backward = (net: classic.Network, pass: classic.ForwardPass, y: Tensor) => classic.Gradients;

const sigmoidPrime = (a: Tensor): Tensor => a.mul(a.neg().add(1)); // σ′(z) = a(1 − a)

/** The backward pass of a sigmoid network trained on BCE, with hooks for the mistakes. */
function backward(opts: {
  hiddenFactor?: (a: Tensor) => Tensor; // what δ is multiplied by at a hidden layer (correct: σ′(z) = a(1 − a))
  outputFactor?: boolean; // multiply δᴸ by σ′(zᴸ) again
  divideByN?: boolean; // average over the batch (correct) or sum
}): Backward {
  return (net, pass, y) => noGrad(() => {
    const L = net.layers.length, N = pass.output.shape[0]!, C = pass.output.shape[1]!;
    const deltas: Tensor[] = new Array(L);
    const aL = pass.a[L - 1]!;
    deltas[L - 1] = aL.sub(y).div(C);
    if (opts.outputFactor) deltas[L - 1] = deltas[L - 1]!.mul(sigmoidPrime(aL));
    for (let l = L - 2; l >= 0; l--) {
      const factor = (opts.hiddenFactor ?? sigmoidPrime)(pass.a[l]!);
      deltas[l] = deltas[l + 1]!.matmul(net.layers[l + 1]!.weight).mul(factor);
    }
    const n = opts.divideByN === false ? 1 : N;
    return {
      deltas,
      weight: deltas.map((d, l) => d.T.matmul(pass.inputs[l]!).div(n)),
      bias: deltas.map((d) => d.sum(0).div(n)),
    };
  });
}

const oneHot = (labels: Tensor): Tensor => classic.oneHot(labels, 10);
const variants: [string, Backward][] = [
  ['correct: δˡ = (δˡ⁺¹Wˡ⁺¹) ⊙ σ′(zˡ)', backward({})],
  ['δ times the activation aˡ', backward({ hiddenFactor: (a) => a })],
  ['σ′ applied to aˡ instead of zˡ', backward({ hiddenFactor: (a) => sigmoidPrime(a.sigmoid()) })],
  ['BCE output δ times σ′(zᴸ) again', backward({ outputFactor: true })],
  ['sum over the batch, no 1/N', backward({ divideByN: false })],
];

const train = new datasets.MNIST({ train: true }), test = new datasets.MNIST({ train: false });
const xTest = test.images.reshape(-1, 784);
const LR = 1;

function trainOneEpoch(step: Backward): classic.Network {
  manualSeed(0);
  const net = new classic.Network([784, 100, 10], { hidden: 'sigmoid', loss: 'bce' });
  for (const [images, labels] of new data.DataLoader(train, { batchSize: 64, shuffle: true, generator: new Generator(0) })) {
    const pass = classic.forward(net, images!.reshape(-1, 784));
    classic.updateWeights(net, step(net, pass, oneHot(labels!)), LR);
  }
  return net;
}

const norm = (t: Tensor): number => t.square().sum().sqrt().item();
const relErr = (g: Tensor, ref: Tensor): number => norm(g.sub(ref)) / norm(ref);
const cosine = (g: Tensor, ref: Tensor): number => g.mul(ref).sum().item() / (norm(g) * norm(ref));

// the gradient of the first layer on one batch, at the initial weights and after one correct epoch
manualSeed(0);
const fresh = new classic.Network([784, 100, 10], { hidden: 'sigmoid', loss: 'bce' });
const trained = trainOneEpoch(variants[0]![1]);
const xb = train.images.narrow(0, 0, 256).reshape(256, 784), yb = oneHot(train.targets.narrow(0, 0, 256));

console.log(`784-100-10 sigmoid, BCE, SGD lr ${LR}, batch 64, 1 epoch; ∇W¹ on 256 images against the correct one`);
console.log('version                              ∇W¹ rel. error (init / trained)   cosine (init / trained)   test accuracy');
for (const [name, step] of variants) {
  const errs = [fresh, trained].map((net) => {
    const pass = classic.forward(net, xb);
    const ref = classic.backpropagate(net, pass, yb).weight[0]!, got = step(net, pass, yb).weight[0]!;
    return [relErr(got, ref), cosine(got, ref)] as const;
  });
  const acc = classic.evaluate(trainOneEpoch(step), xTest, test.targets).accuracy;
  console.log(`${name.padEnd(37)}${errs.map((e) => e[0].toExponential(1)).join(' / ').padEnd(34)}${errs.map((e) => e[1].toFixed(3)).join(' / ').padEnd(26)}${(100 * acc).toFixed(2)} %`);
}
