/**
 * `nabla train --engine classic`: the default engine's run with backpropagation written out by hand
 * (src/classic: forward, calculateLoss, backpropagate, updateWeights; no autograd, plain SGD).
 * The model is built by the same code from the same seed (same initial weights), the batches come in
 * the same order, the log has the same lines, and checkpoints hold the same nn state dict, so
 * `nabla evaluate` and `--resume` read them.
 */
import { copyToModule, fromModule } from '../classic/modules.js';
import type { Loss } from '../classic/losses.js';
import type { Network } from '../classic/network.js';
import { backpropagate, calculateLoss, forward, updateWeights } from '../classic/steps.js';
import { DataLoader } from '../data/dataloader.js';
import { reshape } from '../ops/shape.js';
import { Generator, defaultGenerator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { restoreCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { type EpochSummary, formatEpochSummary } from '../train/loop.js';
import { correctCount } from '../train/metrics.js';
import { createProgress, formatRunningLoss } from '../train/progress.js';
import { UsageError } from './args.js';
import type { LossName, TrainConfig } from './config.js';
import type { EngineContext } from './engines.js';
import { buildModel } from './models.js';

const CLASSIC_LOSS: Record<LossName, Loss> = { bce: 'bce', mse: 'mse', ce: 'crossEntropy' };

/** The classic engine trains MLPs by plain SGD; anything else is a usage error. */
function checkConfig(c: TrainConfig): void {
  const cmd = 'nabla train --engine classic';
  if (c.model !== 'mlp') throw new UsageError(`${cmd}: trains MLPs only (--model mlp), got --model ${c.model}`);
  if (c.optimizer !== 'sgd') throw new UsageError(`${cmd}: updates the weights by plain SGD (W ← W − η∇W); --optimizer ${c.optimizer} needs the default engine`);
  if (c.momentum !== 0) throw new UsageError(`${cmd}: updates the weights by plain SGD; --momentum needs the default engine`);
  if (c.weightDecay !== 0) throw new UsageError(`${cmd}: updates the weights by plain SGD; --weight-decay needs the default engine`);
  // a learning-rate schedule (a newer flag: read loosely so configurations without it pass)
  const scheduler = (c as { scheduler?: string }).scheduler;
  if (scheduler !== undefined && scheduler !== 'none') throw new UsageError(`${cmd}: keeps the learning rate constant; --scheduler ${scheduler} needs the default engine`);
}

const flat = (images: Tensor): Tensor => reshape(images, [images.shape[0]!, -1]);

/** Test loss and accuracy with the explicit forward pass, batch by batch. */
function evaluateClassic(net: Network, loader: DataLoader): { loss: number; accuracy: number } {
  let lossSum = 0, correct = 0, total = 0;
  for (const [images, labels] of loader) {
    const pass = forward(net, flat(images!));
    const n = labels!.shape[0]!;
    lossSum += calculateLoss(net, pass, labels!) * n;
    correct += correctCount(pass.output, labels!);
    total += n;
  }
  return { loss: lossSum / total, accuracy: correct / total };
}

export async function trainWithClassic(ctx: EngineContext): Promise<void> {
  const { config: c, options: o, log } = ctx;
  checkConfig(c);
  manualSeed(c.seed);
  const model = buildModel(c); // the nn model: initial weights, checkpoints
  const loaderGenerator = new Generator(c.seed);
  const generators = { loader: loaderGenerator, global: defaultGenerator };
  let startEpoch = 0;
  if (ctx.resume) {
    restoreCheckpoint(ctx.resume, { model, generators }, o.resume);
    startEpoch = ctx.resume.epoch;
    log(`resumed from ${o.resume} after epoch ${startEpoch}`);
  }
  const net = fromModule(model, { loss: CLASSIC_LOSS[c.loss] });
  // each batch is used within its step, so the loaders may decode into reused buffers (DataLoader's reuseBuffers)
  const trainLoader = new DataLoader(ctx.trainSet, { batchSize: c.batchSize, shuffle: true, generator: loaderGenerator, reuseBuffers: true });
  const testLoader = new DataLoader(ctx.testSet, { batchSize: o.testBatchSize, reuseBuffers: true });
  const progress = createProgress(o.progress, log);
  if (startEpoch >= c.epochs) log(`nothing to train: the checkpoint has ${startEpoch} epochs done and --epochs is ${c.epochs}`);

  let lastAccuracy: number | undefined;
  for (let epoch = startEpoch + 1; epoch <= c.epochs; epoch++) {
    const t0 = performance.now();
    let running = 0, lossSum = 0, correct = 0, samples = 0, batch = 0;
    progress.start(epoch, c.epochs, ctx.trainSet.length);
    try {
      for (const [images, labels] of trainLoader) {
        const x = flat(images!), n = x.shape[0]!;
        const pass = forward(net, x);
        const loss = calculateLoss(net, pass, labels!);
        if (!Number.isFinite(loss)) throw new Error(`trainEpoch: the loss became ${loss} at epoch ${epoch}, batch ${batch + 1}; lower the learning rate or check the inputs`);
        updateWeights(net, backpropagate(net, pass, labels!), c.lr);
        batch++;
        samples += n;
        running += loss;
        lossSum += loss * n;
        correct += correctCount(pass.output, labels!);
        progress.update(samples, loss);
        if (o.logInterval > 0 && batch % o.logInterval === 0) {
          progress.log(formatRunningLoss(epoch, batch, running / o.logInterval));
          running = 0;
        }
        await new Promise<void>((r) => setImmediate(r)); // let the progress bar draw, as the default loop does
      }
    } finally {
      progress.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    const test = evaluateClassic(net, testLoader);
    const summary: EpochSummary = {
      epoch, trainLoss: lossSum / samples, trainAccuracy: correct / samples, testLoss: test.loss, testAccuracy: test.accuracy, seconds, samplesPerSecond: samples / seconds,
    };
    progress.log(formatEpochSummary(summary));
    lastAccuracy = test.accuracy;
    if (o.save) {
      copyToModule(net, model);
      saveCheckpoint(o.save, { model, epoch, generators, extra: { config: c, summary } });
      log(`saved checkpoint ${o.save} (epoch ${epoch})`);
    }
  }
  const accuracy = lastAccuracy ?? evaluateClassic(net, testLoader).accuracy;
  log(`Accuracy of the network on the ${ctx.testSet.length} test images: ${(100 * accuracy).toFixed(2)} %`);
}
