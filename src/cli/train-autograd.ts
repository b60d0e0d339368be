/**
 * The default engine of `nabla train`: nn modules, autograd and an optim optimizer, the PyTorch way.
 * Reproducible: the seed fixes the initial weights (global generator) and the shuffling (the loader's own
 * generator); both generators' states go into every checkpoint, so a resumed run continues exactly.
 */
import { DataLoader } from '../data/dataloader.js';
import { CosineAnnealingLR, type SchedulerStateDict } from '../optim/lr-scheduler.js';
import { Generator, defaultGenerator, manualSeed } from '../tensor/random.js';
import { restoreCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { type Callback, evaluate, fit } from '../train/loop.js';
import type { EngineContext } from './engines.js';
import { buildModel } from './models.js';
import { buildLossFn, buildOptimizer } from './recipe.js';

export async function trainWithAutograd(ctx: EngineContext): Promise<void> {
  const { config: c, options: o, log } = ctx;
  manualSeed(c.seed);
  const model = buildModel(c);
  const optimizer = buildOptimizer(c, model.parameters());
  const scheduler = c.scheduler === 'cosine' ? new CosineAnnealingLR(optimizer, { tMax: Math.max(1, c.epochs) }) : null;
  const loaderGenerator = new Generator(c.seed);
  const generators = { loader: loaderGenerator, global: defaultGenerator };
  let startEpoch = 0;
  if (ctx.resume) {
    restoreCheckpoint(ctx.resume, { model, optimizer, generators }, o.resume);
    const saved = (ctx.resume.extra as { scheduler?: SchedulerStateDict } | null)?.scheduler;
    if (scheduler) {
      if (!saved) throw new Error(`checkpoint ${o.resume}: has no learning-rate scheduler state`);
      scheduler.loadStateDict(saved);
    }
    startEpoch = ctx.resume.epoch;
    log(`resumed from ${o.resume} after epoch ${startEpoch}`);
  }
  const lossFn = buildLossFn(c.loss);
  // each batch is used within its step, so the loaders may decode into reused buffers (DataLoader's reuseBuffers)
  const trainLoader = new DataLoader(ctx.trainSet, { batchSize: c.batchSize, shuffle: true, generator: loaderGenerator, reuseBuffers: true });
  const testLoader = new DataLoader(ctx.testSet, { batchSize: o.testBatchSize, reuseBuffers: true });

  const callbacks: Callback[] = [];
  // the schedule advances after each epoch, before the checkpoint is written (as in PyTorch's loops)
  if (scheduler) callbacks.push({ onEpochEnd: () => scheduler.step() });
  if (o.save) {
    const pattern = o.save;
    callbacks.push({
      onEpochEnd(summary) {
        const file = pattern.replaceAll('{epoch}', String(summary.epoch));
        saveCheckpoint(file, { model, optimizer, epoch: summary.epoch, generators, extra: { config: c, summary, scheduler: scheduler?.stateDict() ?? null } });
        log(`saved checkpoint ${file} (epoch ${summary.epoch})`);
      },
    });
  }
  if (startEpoch >= c.epochs) log(`nothing to train: the checkpoint has ${startEpoch} epochs done and --epochs is ${c.epochs}`);
  const history = await fit(model, trainLoader, {
    optimizer, lossFn, epochs: c.epochs, startEpoch, testLoader, logInterval: o.logInterval, log, progress: o.progress, callbacks, compile: !o.eager,
  });
  const last = history.epochs.at(-1);
  const result = last?.testAccuracy !== undefined ? { accuracy: last.testAccuracy } : await evaluate(model, testLoader);
  log(`Accuracy of the network on the ${ctx.testSet.length} test images: ${(100 * result.accuracy).toFixed(2)} %`);
}
