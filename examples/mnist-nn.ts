/**
 * The classic MNIST program, written the PyTorch way with nabla's nn, optim and data:
 * 784-100-10 with sigmoid after both layers, BCE on one-hot targets, plain SGD, batches of 64.
 * examples/classic-mnist.ts is the same program with backpropagation written out by hand;
 * from the same seed both print the same losses (to float32 rounding).
 *
 *   npx tsx examples/mnist-nn.ts          # 1 epoch, lr 1
 *   npx tsx examples/mnist-nn.ts 3 0.1    # 3 epochs, lr 0.1 (the original recipe's rate: slower)
 */
import { Generator, data, datasets, manualSeed, nn, noGrad, optim } from '../src/index.js';

const EPOCHS = Number(process.argv[2] ?? 1);
const LR = Number(process.argv[3] ?? 1);

manualSeed(0);
const trainSet = new datasets.MNIST({ train: true });
const testSet = new datasets.MNIST({ train: false });
const trainLoader = new data.DataLoader(trainSet, { batchSize: 64, shuffle: true, generator: new Generator(0) });
const testLoader = new data.DataLoader(testSet, { batchSize: 1000 });

const model = new nn.Sequential(
  new nn.Flatten(),
  new nn.Linear(784, 100), new nn.Sigmoid(),
  new nn.Linear(100, 10), new nn.Sigmoid(),
);
const criterion = new nn.BCELoss();
const optimizer = new optim.SGD(model.parameters(), { lr: LR });

for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  model.train();
  let running = 0, i = 0;
  for (const [images, labels] of trainLoader) {
    const outputs = model.call(images!);
    const loss = criterion.call(outputs, nn.F.oneHot(labels!, 10).float());
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    running += loss.item();
    if (++i % 100 === 0) {
      console.log(`[${epoch}, ${String(i).padStart(3)}] loss: ${(running / 100).toFixed(4)}`);
      running = 0;
    }
  }

  model.eval();
  let correct = 0, total = 0, testLoss = 0;
  noGrad(() => {
    for (const [images, labels] of testLoader) {
      const outputs = model.call(images!);
      testLoss += criterion.call(outputs, nn.F.oneHot(labels!, 10).float()).item() * labels!.shape[0]!;
      correct += outputs.argmax(1).eq(labels!).sum().item();
      total += labels!.shape[0]!;
    }
  });
  console.log(`epoch ${epoch}: test loss ${(testLoss / total).toFixed(4)}, accuracy of the network on the ${total} test images: ${(100 * correct / total).toFixed(2)} %`);
}
