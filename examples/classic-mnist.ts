/**
 * The classic MNIST program with backpropagation written out by hand (nabla's `classic` module):
 * 784-100-10 with sigmoid after both layers, BCE on one-hot targets, plain SGD, batches of 64.
 * examples/mnist-nn.ts is the same program with nn, autograd and optim; from the same seed both
 * print the same losses (to float32 rounding).
 *
 *   npx tsx examples/classic-mnist.ts          # 1 epoch, lr 1
 *   npx tsx examples/classic-mnist.ts 3 0.1    # 3 epochs, lr 0.1
 */
import { Generator, classic, data, datasets, manualSeed } from '../src/index.js';

const EPOCHS = Number(process.argv[2] ?? 1);
const LR = Number(process.argv[3] ?? 1);

manualSeed(0);
const trainSet = new datasets.MNIST({ train: true });
const testSet = new datasets.MNIST({ train: false });
const trainLoader = new data.DataLoader(trainSet, { batchSize: 64, shuffle: true, generator: new Generator(0) });

// the same layers and the same initial weights as the nn.Sequential in mnist-nn.ts
const net = new classic.Network([784, 100, 10], { hidden: 'sigmoid', output: 'sigmoid', loss: 'bce' });

for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  let running = 0, i = 0;
  for (const [images, labels] of trainLoader) {
    const x = images!.reshape(-1, 784); // [64, 784]
    const pass = classic.forward(net, x); // z and a of every layer
    const loss = classic.calculateLoss(net, pass, labels!); // labels become one-hot rows for BCE
    const grads = classic.backpropagate(net, pass, labels!); // δ, ∇W, ∇b of every layer
    classic.updateWeights(net, grads, LR); // W ← W − η∇W, b ← b − η∇b
    running += loss;
    if (++i % 100 === 0) {
      console.log(`[${epoch}, ${String(i).padStart(3)}] loss: ${(running / 100).toFixed(4)}`);
      running = 0;
    }
  }
  const test = classic.evaluate(net, testSet.images.reshape(-1, 784), testSet.targets);
  console.log(`epoch ${epoch}: test loss ${test.loss.toFixed(4)}, accuracy of the network on the ${testSet.length} test images: ${(100 * test.accuracy).toFixed(2)} %`);
}
