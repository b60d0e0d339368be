/**
 * The training loop of the classic program, as a helper:
 *
 *   for each epoch: for each batch: zeroGrad, forward, loss, backward (compiled: see autograd/compile), step;
 *   every 100 batches print `[epoch, batch] loss: <mean of those batches>`; after the epoch, evaluate.
 *
 * With a progress bar on a terminal, callbacks (onBatchEnd / onEpochEnd) and early stopping.
 */
import { compile } from '../autograd/compile.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Tensor } from '../tensor/tensor.js';
import { confusionMatrix as confusion, correctCount } from './metrics.js';
import { type Progress, createProgress, formatDuration, formatRunningLoss } from './progress.js';

/** What the loop needs of a model (an nn.Module fits). */
export interface ModelLike {
  forward(x: Tensor): Tensor;
  train(mode?: boolean): unknown;
  training: boolean;
}

/** What the loop needs of an optimizer (every optim optimizer fits). */
export interface OptimizerLike {
  zeroGrad(): void;
  step(): void;
}

/** Computes the loss of a batch from the model output and the batch target (class indices as loaded). */
export type LossFn = (output: Tensor, target: Tensor) => Tensor;

/** A source of [input, target] batches: a DataLoader, or any (async) iterable of them. */
export type BatchSource = (Iterable<readonly Tensor[]> | AsyncIterable<readonly Tensor[]>) & { length?: number; dataset?: { length: number } };

export interface BatchInfo {
  /** 1-based epoch number. */
  epoch: number;
  /** 1-based batch number within the epoch. */
  batch: number;
  /** This batch's loss. */
  loss: number;
  batchSize: number;
  /** Samples seen so far in this epoch. */
  samples: number;
}

export interface EpochSummary {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's samples. */
  trainLoss: number;
  /** Training accuracy (0..1) measured on the fly (with the weights changing during the epoch). */
  trainAccuracy: number;
  testLoss?: number;
  testAccuracy?: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface Callback {
  onBatchEnd?(info: BatchInfo): void;
  /** Called after each epoch (after evaluation); call `control.stop()` to end training. May be async. */
  onEpochEnd?(summary: EpochSummary, control: { stop(): void }): void | Promise<void>;
}

export type Monitor = 'testLoss' | 'testAccuracy' | 'trainLoss' | 'trainAccuracy';

/** Stop when the monitored value has not improved by more than `minDelta` for `patience` epochs in a row (as Keras and Lightning). */
export class EarlyStopping implements Callback {
  readonly monitor: Monitor;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: 'min' | 'max';
  best = NaN;
  bestEpoch = 0;
  /** Epochs since the last improvement. */
  wait = 0;
  stoppedEpoch = 0;

  constructor(opts: { monitor?: Monitor; patience?: number; minDelta?: number; mode?: 'min' | 'max' } = {}) {
    this.monitor = opts.monitor ?? 'testLoss';
    this.patience = opts.patience ?? 3;
    this.minDelta = opts.minDelta ?? 0;
    this.mode = opts.mode ?? (this.monitor.endsWith('Accuracy') ? 'max' : 'min');
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new Error(`EarlyStopping: patience must be a non-negative integer, got ${this.patience}`);
    if (!(this.minDelta >= 0)) throw new Error(`EarlyStopping: minDelta must be ≥ 0, got ${this.minDelta}`);
  }

  /** Record one epoch's value; true when training should stop. */
  step(value: number, epoch: number): boolean {
    const better = Number.isNaN(this.best) || (this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta);
    if (better) { this.best = value; this.bestEpoch = epoch; this.wait = 0; return false; }
    this.wait++;
    if (this.wait >= this.patience) { this.stoppedEpoch = epoch; return true; }
    return false;
  }

  onEpochEnd(summary: EpochSummary, control: { stop(): void }): void {
    const value = summary[this.monitor];
    if (value === undefined) throw new Error(`EarlyStopping: '${this.monitor}' is not measured; pass a testLoader to fit() or monitor 'trainLoss'`);
    if (this.step(value, summary.epoch)) control.stop();
  }
}

async function* batches(source: BatchSource): AsyncGenerator<readonly Tensor[]> {
  if (Symbol.asyncIterator in source) yield* source as AsyncIterable<readonly Tensor[]>;
  else for (const b of source as Iterable<readonly Tensor[]>) { yield b; await new Promise<void>((r) => setImmediate(r)); }
}

function splitBatch(batch: readonly Tensor[], op: string): [Tensor, Tensor] {
  if (!Array.isArray(batch) || batch.length < 2 || !(batch[0] instanceof Tensor) || !(batch[1] instanceof Tensor)) {
    throw new Error(`${op}: each batch must be [input, target] tensors (as a DataLoader over a TensorDataset or MNIST yields)`);
  }
  return [batch[0], batch[1]];
}

export interface TrainEpochOptions {
  optimizer: OptimizerLike;
  lossFn: LossFn;
  /** 1-based epoch number, for the log (default 1). */
  epoch?: number;
  /** Total epochs, for the progress bar (default: epoch). */
  epochs?: number;
  /** Print the running loss every this many batches (default 100, 0 = never). */
  logInterval?: number;
  progress?: Progress;
  callbacks?: readonly Callback[];
  /**
   * Run forward, loss and backward through `compile` (default true): recorded once per input shape and replayed,
   * with the same results as eager mode and a fallback to it (with a warning) for steps it cannot replay.
   */
  compile?: boolean;
}

/** Forward, loss and backward of one batch: [loss, output]. */
type BatchStep = (x: Tensor, y: Tensor) => Tensor[];
const compiledSteps = new WeakMap<ModelLike, Map<LossFn, BatchStep>>();

/** The step of a model and loss; compiled steps are kept per (model, loss), so plans outlive an epoch. */
function batchStep(model: ModelLike, lossFn: LossFn, compiled: boolean): BatchStep {
  const eager: BatchStep = (x, y) => {
    const out = model.forward(x);
    const loss = lossFn(out, y);
    if (loss.size !== 1) throw new Error(`trainEpoch: the loss must be a single number, got shape [${loss.shape.join(', ')}]; use reduction 'mean' or 'sum'`);
    loss.backward();
    return [loss, out];
  };
  if (!compiled) return eager;
  let byLoss = compiledSteps.get(model);
  if (!byLoss) compiledSteps.set(model, byLoss = new Map());
  let step = byLoss.get(lossFn);
  if (!step) byLoss.set(lossFn, step = compile(eager));
  return step;
}

/** One pass over `loader`: returns the mean loss and accuracy over the samples. */
export async function trainEpoch(model: ModelLike, loader: BatchSource, opts: TrainEpochOptions): Promise<{ loss: number; accuracy: number; samples: number; seconds: number }> {
  const epoch = opts.epoch ?? 1;
  const logInterval = opts.logInterval ?? 100;
  const progress = opts.progress ?? createProgress(false);
  const total = loader.dataset?.length ?? 0;
  model.train(true);
  const step = batchStep(model, opts.lossFn, opts.compile ?? true);
  progress.start(epoch, opts.epochs ?? epoch, total);
  const t0 = performance.now();
  let running = 0, lossSum = 0, correct = 0, samples = 0, batch = 0;
  try {
    for await (const b of batches(loader)) {
      const [x, y] = splitBatch(b, 'trainEpoch');
      const n = x.shape[0]!;
      opts.optimizer.zeroGrad();
      const [loss, out] = step(x, y) as [Tensor, Tensor];
      opts.optimizer.step();
      const value = loss.item();
      if (!Number.isFinite(value)) throw new Error(`trainEpoch: the loss became ${value} at epoch ${epoch}, batch ${batch + 1}; lower the learning rate or check the inputs`);
      batch++;
      samples += n;
      running += value;
      lossSum += value * n;
      correct += noGrad(() => correctCount(out.detach(), y));
      progress.update(samples, value);
      if (logInterval > 0 && batch % logInterval === 0) {
        progress.log(formatRunningLoss(epoch, batch, running / logInterval));
        running = 0;
      }
      for (const cb of opts.callbacks ?? []) cb.onBatchEnd?.({ epoch, batch, loss: value, batchSize: n, samples });
    }
  } finally {
    progress.stop();
  }
  if (samples === 0) throw new Error('trainEpoch: the loader produced no batches');
  return { loss: lossSum / samples, accuracy: correct / samples, samples, seconds: (performance.now() - t0) / 1000 };
}

export interface EvaluateOptions {
  /** Also report the mean loss. */
  lossFn?: LossFn;
  /** Also compute the confusion matrix over this many classes. */
  numClasses?: number;
}

export interface EvaluateResult {
  /** Fraction correct, 0..1. */
  accuracy: number;
  correct: number;
  total: number;
  /** Mean loss per sample (when a lossFn was given). */
  loss?: number;
  /** int32 [C, C], rows = true class (when numClasses was given). */
  confusionMatrix?: Tensor;
}

/** Accuracy (and loss, confusion matrix) of `model` on `loader`, in eval mode and without gradients. */
export async function evaluate(model: ModelLike, loader: BatchSource, opts: EvaluateOptions = {}): Promise<EvaluateResult> {
  const wasTraining = model.training;
  model.train(false);
  let correct = 0, total = 0, lossSum = 0;
  let matrix: Int32Array | null = null;
  try {
    for await (const b of batches(loader)) {
      const [x, y] = splitBatch(b, 'evaluate');
      const n = x.shape[0]!;
      noGrad(() => {
        const out = model.forward(x);
        correct += correctCount(out, y);
        if (opts.lossFn) lossSum += opts.lossFn(out, y).item() * n;
        if (opts.numClasses !== undefined) {
          const m = confusion(out, y, opts.numClasses).data as Int32Array;
          if (!matrix) matrix = new Int32Array(m.length);
          for (let i = 0; i < m.length; i++) matrix[i]! += m[i]!;
        }
      });
      total += n;
    }
  } finally {
    model.train(wasTraining);
  }
  if (total === 0) throw new Error('evaluate: the loader produced no batches');
  const result: EvaluateResult = { accuracy: correct / total, correct, total };
  if (opts.lossFn) result.loss = lossSum / total;
  if (matrix) result.confusionMatrix = new Tensor(matrix, [opts.numClasses!, opts.numClasses!]);
  return result;
}

export interface FitOptions {
  optimizer: OptimizerLike;
  lossFn: LossFn;
  /** Train until this many epochs are done in total. */
  epochs: number;
  /** Epochs already done (when resuming from a checkpoint); training starts at epoch startEpoch + 1. Default 0. */
  startEpoch?: number;
  /** Evaluated after every epoch (test loss and accuracy in the summary). */
  testLoader?: BatchSource;
  /** Print the running loss every this many batches (default 100, 0 = never). */
  logInterval?: number;
  /** Where lines go when there is no progress bar (default console.log). */
  log?: (line: string) => void;
  /** Progress bar: 'auto' (default) = when stdout is a terminal; or a Progress of your own. */
  progress?: boolean | 'auto' | Progress;
  /** Print the per-epoch summary line (default true). */
  summary?: boolean;
  earlyStopping?: EarlyStopping;
  callbacks?: readonly Callback[];
  /** Compile the training step (default true); see {@link TrainEpochOptions.compile}. */
  compile?: boolean;
}

export interface History {
  epochs: EpochSummary[];
  /** True when early stopping or a callback ended training before `epochs`. */
  stoppedEarly: boolean;
}

/** A per-epoch summary line. */
export function formatEpochSummary(s: EpochSummary): string {
  const parts = [`epoch ${s.epoch}: train loss ${s.trainLoss.toFixed(4)}, train accuracy ${(100 * s.trainAccuracy).toFixed(2)} %`];
  if (s.testLoss !== undefined) parts.push(`test loss ${s.testLoss.toFixed(4)}`);
  if (s.testAccuracy !== undefined) parts.push(`test accuracy ${(100 * s.testAccuracy).toFixed(2)} %`);
  parts.push(`${formatDuration(s.seconds)} (${s.samplesPerSecond.toFixed(0)} samples/s)`);
  return parts.join(', ');
}

/** Train for several epochs with the classic log, evaluation after each epoch, callbacks and early stopping. */
export async function fit(model: ModelLike, trainLoader: BatchSource, opts: FitOptions): Promise<History> {
  const start = opts.startEpoch ?? 0;
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0) throw new Error(`fit: epochs must be a non-negative integer, got ${opts.epochs}`);
  if (!Number.isInteger(start) || start < 0) throw new Error(`fit: startEpoch must be a non-negative integer, got ${start}`);
  const progress = typeof opts.progress === 'object' ? opts.progress : createProgress(opts.progress ?? 'auto', opts.log);
  const log = (line: string): void => progress.log(line);
  const callbacks = [...(opts.callbacks ?? []), ...(opts.earlyStopping ? [opts.earlyStopping] : [])];
  const history: History = { epochs: [], stoppedEarly: false };
  for (let epoch = start + 1; epoch <= opts.epochs; epoch++) {
    const r = await trainEpoch(model, trainLoader, {
      optimizer: opts.optimizer, lossFn: opts.lossFn, epoch, epochs: opts.epochs, logInterval: opts.logInterval, progress, callbacks: opts.callbacks, compile: opts.compile,
    });
    const summary: EpochSummary = { epoch, trainLoss: r.loss, trainAccuracy: r.accuracy, seconds: r.seconds, samplesPerSecond: r.samples / r.seconds };
    if (opts.testLoader) {
      const e = await evaluate(model, opts.testLoader, { lossFn: opts.lossFn });
      summary.testLoss = e.loss;
      summary.testAccuracy = e.accuracy;
    }
    history.epochs.push(summary);
    if (opts.summary ?? true) log(formatEpochSummary(summary));
    let stop = false;
    const control = { stop: () => { stop = true; } };
    for (const cb of callbacks) await cb.onEpochEnd?.(summary, control);
    if (stop) {
      history.stoppedEarly = epoch < opts.epochs;
      if (opts.earlyStopping?.stoppedEpoch === epoch) {
        log(`early stopping: ${opts.earlyStopping.monitor} has not improved for ${opts.earlyStopping.wait} epochs (best ${opts.earlyStopping.best.toFixed(4)} at epoch ${opts.earlyStopping.bestEpoch})`);
      }
      break;
    }
  }
  return history;
}
