/**
 * Why δ vanishes in deep sigmoid networks, measured with the explicit engine (numbers quoted in
 * docs/backprop.md). A 10-layer network on a batch of 256 MNIST images, PyTorch's default initial
 * weights; for each hidden activation, the size of δ and ∇W at every layer.
 *
 *   npx tsx examples/classic-vanishing-gradients.ts
 */
import { type Tensor, classic, datasets, manualSeed, noGrad } from '../src/index.js';

const train = new datasets.MNIST({ train: true });
const x = train.images.narrow(0, 0, 256).reshape(256, 784);
const labels = train.targets.narrow(0, 0, 256);
const SIZES = [784, 30, 30, 30, 30, 30, 30, 30, 30, 30, 10]; // 9 hidden layers + the output layer

function measure(hidden: classic.Activation, weightScale = 1) {
  manualSeed(0);
  const net = new classic.Network(SIZES, { hidden, output: 'sigmoid', loss: 'bce' });
  if (weightScale !== 1) noGrad(() => net.layers.forEach((l) => l.weight.copy_(l.weight.mul(weightScale))));
  const pass = classic.forward(net, x);
  const grads = classic.backpropagate(net, pass, labels);
  return { net, pass, stats: classic.layerStats(net, pass, grads) };
}

console.log('mean ‖δ‖ per sample, layer 1 (input side) … layer 10 (output)');
for (const hidden of ['sigmoid', 'tanh', 'relu'] as const) {
  const { stats } = measure(hidden);
  console.log(`\n${hidden}`);
  console.log('  layer   ‖δ‖        ‖∇W‖       mean f′(z)');
  for (const s of stats) {
    console.log(`  ${String(s.layer + 1).padStart(5)}   ${s.deltaNorm.toExponential(2).padEnd(9)}  ${s.weightGradNorm.toExponential(2).padEnd(9)}  ${s.meanDerivative.toFixed(3)}`);
  }
  const first = stats[0]!.deltaNorm, last = stats[stats.length - 1]!.deltaNorm;
  console.log(`  ‖δ¹‖ / ‖δ¹⁰‖ = ${(first / last).toExponential(2)}, about ${Math.pow(first / last, 1 / 9).toFixed(3)} per layer`);
}

// With initial weights scaled for the activation, tanh and ReLU keep δ: for 30 → 30 layers, Xavier's
// bound √(6/(30+30)) is √3 times nn.Linear's 1/√30, He's √(6/30) is √6 times.
console.log('\ninitial weights scaled for the activation');
for (const [hidden, k, name] of [['tanh', Math.sqrt(3), 'Xavier (×√3)'], ['relu', Math.sqrt(6), 'He (×√6)'], ['sigmoid', Math.sqrt(3), 'Xavier (×√3)']] as const) {
  const { stats } = measure(hidden, k);
  console.log(`  ${hidden.padEnd(7)} ${name.padEnd(13)} ‖δ¹‖ / ‖δ¹⁰‖ = ${(stats[0]!.deltaNorm / stats[stats.length - 1]!.deltaNorm).toExponential(2)}`);
}

// Larger weights make Wᵀ amplify δ, but push z into the flat tails of σ: saturation.
const saturated = (a: Tensor): number => a.mul(a.neg().add(1)).lt(0.01).float().mean().item(); // σ′ = a(1 − a) < 0.01
console.log('\nsigmoid with every weight multiplied by k');
console.log('   k   ‖δ¹‖/‖δ¹⁰‖   mean σ′ (hidden)   hidden units with σ′ < 0.01');
for (const k of [1, 2, 4, 8, 16, 32]) {
  const { pass, stats } = measure('sigmoid', k);
  const hidden = stats.slice(0, -1);
  const meanD = hidden.reduce((p, s) => p + s.meanDerivative, 0) / hidden.length;
  const sat = pass.a.slice(0, -1).reduce((p, a) => p + saturated(a), 0) / hidden.length;
  console.log(`  ${String(k).padStart(2)}   ${(stats[0]!.deltaNorm / stats[stats.length - 1]!.deltaNorm).toExponential(2).padEnd(11)}  ${meanD.toFixed(3).padEnd(17)}  ${(100 * sat).toFixed(1)} %`);
}
