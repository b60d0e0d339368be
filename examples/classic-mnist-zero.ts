/**
 * "Is it a 0?": a binary classifier on MNIST with 3 hidden layers, trained by the explicit
 * backpropagation engine (nabla's `classic` module: forward, calculateLoss, backpropagate,
 * updateWeights, no autograd). Prints the loss, every layer's δ norm, and the test accuracy.
 *
 *   npx tsx examples/classic-mnist-zero.ts            # 1 epoch
 *   npx tsx examples/classic-mnist-zero.ts 5          # 5 epochs
 */
import { type Tensor, Generator, classic, data, datasets, manualSeed } from '../src/index.js';

const EPOCHS = Number(process.argv[2] ?? 1);
const LR = 0.5, BATCH = 64;

manualSeed(0);
const trainSet = new datasets.MNIST({ train: true });
const testSet = new datasets.MNIST({ train: false });

/** Images [N, 1, 28, 28] → [N, 784]; labels → 1 where the digit is 0, else 0, as [N, 1]. */
const inputs = (images: Tensor): Tensor => images.reshape(-1, 784);
const isZero = (labels: Tensor): Tensor => labels.eq(0).float().unsqueeze(1);

// 784 → 128 → 64 → 32 → 1: sigmoid everywhere, BCE on the sigmoid output
const net = new classic.Network([784, 128, 64, 32, 1], { hidden: 'sigmoid', loss: 'bce' });
console.log(net.toString());

const xTest = inputs(testSet.images), yTest = isZero(testSet.targets);
const zerosShare = yTest.mean().item();
console.log(`test set: ${testSet.length} images, ${(100 * zerosShare).toFixed(1)} % zeros ` +
  `(always answering "not a 0" scores ${(100 * (1 - zerosShare)).toFixed(1)} %)`);

const loader = new data.DataLoader(trainSet, { batchSize: BATCH, shuffle: true, generator: new Generator(0) });
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  let sum = 0, count = 0, step = 0;
  for (const [images, labels] of loader) {
    const x = inputs(images!), y = isZero(labels!);
    // the four steps, spelled out (classic.trainStep does the same in one call)
    const pass = classic.forward(net, x);
    const loss = classic.calculateLoss(net, pass, y);
    const grads = classic.backpropagate(net, pass, y);
    if (step === 0) {
      const stats = classic.layerStats(net, pass, grads);
      console.log(`epoch ${epoch}, first batch: |δ| per layer (input → output) ${stats.map((s) => s.deltaNorm.toExponential(1)).join('  ')}`);
    }
    classic.updateWeights(net, grads, LR);
    sum += loss * x.shape[0]!; count += x.shape[0]!; step++;
    if (step % 200 === 0) console.log(`  batch ${String(step).padStart(3)}/${loader.length}  loss ${(sum / count).toFixed(4)}`);
  }
  const test = classic.evaluate(net, xTest, yTest);
  console.log(`epoch ${epoch}: train loss ${(sum / count).toFixed(4)}, test loss ${test.loss.toFixed(4)}, test accuracy ${(100 * test.accuracy).toFixed(2)} %`);
}
