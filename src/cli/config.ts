/**
 * The `nabla train` configuration: flags → a validated TrainConfig (what a checkpoint stores) and
 * RunOptions (what only concerns this run: files, threads, output).
 */
import { choiceFlag, type FlagTable, intFlag, intListFlag, numberFlag, UsageError } from './args.js';
import { ENGINES } from './engines.js';
import { ACTIVATIONS, type Activation, MODELS } from './models.js';

export const LOSSES = ['bce', 'ce', 'mse'] as const;
export type LossName = (typeof LOSSES)[number];
export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const SCHEDULERS = ['none', 'cosine'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

/** What defines the model (enough to rebuild it from a checkpoint). */
export interface ModelConfig {
  model: string;
  hidden: number[];
  activation: Activation;
  loss: LossName;
}

/** Everything that determines the result of a run; stored in checkpoints. */
export interface TrainConfig extends ModelConfig {
  engine: string;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Learning-rate schedule over the epochs: none (constant) or cosine (decay to 0 at the last epoch). */
  scheduler: SchedulerName;
  batchSize: number;
  epochs: number;
  seed: number;
  normalize: boolean;
  /** Use only the first `limit` training images (0 = all 60 000). */
  limit: number;
}

export interface RunOptions {
  save?: string;
  resume?: string;
  threads?: number;
  backend?: string;
  data?: string;
  testBatchSize: number;
  logInterval: number;
  progress: boolean | 'auto';
  /** Run the training step op by op instead of through compile (default false). */
  eager: boolean;
}

/** The classic recipe. */
export const DEFAULTS = {
  model: 'mlp', engine: 'autograd', hidden: [100], activation: 'sigmoid' as Activation, loss: 'bce' as LossName,
  optimizer: 'sgd' as OptimizerName, momentum: 0, scheduler: 'none' as SchedulerName, batchSize: 64, epochs: 1, seed: 0, normalize: false, limit: 0,
  testBatchSize: 1000, logInterval: 100,
};

/** Default learning rate per optimizer (the classic 0.1 for SGD, PyTorch's 0.001 for Adam and AdamW). */
export const DEFAULT_LR: Record<OptimizerName, number> = { sgd: 0.1, adam: 0.001, adamw: 0.001 };
/** Default weight decay per optimizer (PyTorch's). */
export const DEFAULT_WEIGHT_DECAY: Record<OptimizerName, number> = { sgd: 0, adam: 0, adamw: 0.01 };

export function trainFlags(): FlagTable {
  return {
    epochs: { type: 'string', arg: 'N', help: 'train until N epochs are done (a resumed run counts the epochs already done)', defaultText: String(DEFAULTS.epochs) },
    model: { type: 'string', arg: 'NAME', help: `network: ${Object.keys(MODELS).join(', ')}`, defaultText: DEFAULTS.model },
    hidden: { type: 'string', arg: 'LIST', help: 'hidden layer sizes, comma-separated, e.g. 256,128 (an empty string for none)', defaultText: DEFAULTS.hidden.join(',') },
    activation: { type: 'string', arg: 'NAME', help: `hidden activation: ${Object.keys(ACTIVATIONS).join(', ')}`, defaultText: DEFAULTS.activation },
    loss: { type: 'string', arg: 'NAME', help: 'bce (one-hot targets, sigmoid outputs), ce (cross-entropy on logits), mse (one-hot targets, sigmoid outputs)', defaultText: DEFAULTS.loss },
    optimizer: { type: 'string', arg: 'NAME', help: OPTIMIZERS.join(', '), defaultText: DEFAULTS.optimizer },
    lr: { type: 'string', arg: 'NUM', help: 'learning rate', defaultText: '0.1 for sgd, 0.001 for adam and adamw' },
    momentum: { type: 'string', arg: 'NUM', help: 'SGD momentum, 0 to 1', defaultText: String(DEFAULTS.momentum) },
    'weight-decay': { type: 'string', arg: 'NUM', help: 'weight decay (L2 for sgd and adam, decoupled for adamw)', defaultText: '0, 0.01 for adamw' },
    scheduler: { type: 'string', arg: 'NAME', help: 'learning-rate schedule: none, or cosine (CosineAnnealingLR from --lr down to 0 over --epochs, stepped per epoch)', defaultText: DEFAULTS.scheduler },
    'batch-size': { type: 'string', arg: 'N', help: 'training batch size', defaultText: String(DEFAULTS.batchSize) },
    seed: { type: 'string', arg: 'N', help: 'random seed (initial weights and shuffling); the same seed gives the same run', defaultText: String(DEFAULTS.seed) },
    normalize: { type: 'boolean', help: 'normalise pixels with MNIST\'s mean 0.1307 and std 0.3081 (default: pixels in [0, 1])' },
    limit: { type: 'string', arg: 'N', help: 'train on the first N images only, for quick runs (0 = all 60 000)', defaultText: '0' },
    engine: { type: 'string', arg: 'NAME', help: `training engine: ${Object.keys(ENGINES).join(', ')}`, defaultText: DEFAULTS.engine },
    save: { type: 'string', arg: 'FILE', help: 'write a checkpoint (safetensors) after every epoch, atomically; {epoch} in FILE is replaced by the epoch number' },
    resume: { type: 'string', arg: 'FILE', help: 'continue a run from its checkpoint, exactly as if it had not stopped' },
    threads: { type: 'string', arg: 'N', help: 'worker threads for backends that have them (accepted and ignored otherwise)' },
    backend: { type: 'string', arg: 'NAME', help: 'compute backend (see the list in the log; default: the fastest available)' },
    data: { type: 'string', arg: 'DIR', help: 'read the MNIST IDX files (plain or .gz) from DIR instead of the bundled ones' },
    'test-batch-size': { type: 'string', arg: 'N', help: 'batch size for evaluation', defaultText: String(DEFAULTS.testBatchSize) },
    'log-interval': { type: 'string', arg: 'N', help: 'print the running loss every N batches (0: never)', defaultText: String(DEFAULTS.logInterval) },
    'no-progress': { type: 'boolean', help: 'no progress bar, even on a terminal' },
    eager: { type: 'boolean', help: 'run the training step op by op instead of compiled (recorded once, replayed; docs/compile.md)' },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  };
}

type Values = Record<string, string | boolean | undefined>;

const CONFIG_FLAGS: Record<keyof TrainConfig, string> = {
  model: 'model', hidden: 'hidden', activation: 'activation', loss: 'loss', engine: 'engine', optimizer: 'optimizer', lr: 'lr',
  momentum: 'momentum', weightDecay: 'weight-decay', scheduler: 'scheduler', batchSize: 'batch-size', epochs: 'epochs', seed: 'seed', normalize: 'normalize', limit: 'limit',
};

/** The configuration from flags, over `base` (the defaults, or a resumed checkpoint's configuration). */
export function resolveTrainConfig(v: Values, base?: TrainConfig): TrainConfig {
  const cmd = 'nabla train';
  const str = (k: string): string | undefined => v[k] as string | undefined;
  const model = str('model') !== undefined ? choiceFlag(cmd, 'model', str('model')!, Object.keys(MODELS)) : base?.model ?? DEFAULTS.model;
  const md = MODELS[model]?.defaults ?? {}; // a model's own defaults (the CNNs: cross-entropy, Adam, normalised pixels)
  const optimizer = str('optimizer') !== undefined ? choiceFlag(cmd, 'optimizer', str('optimizer')!, OPTIMIZERS) : base?.optimizer ?? md.optimizer ?? DEFAULTS.optimizer;
  const c: TrainConfig = {
    model,
    engine: str('engine') !== undefined ? choiceFlag(cmd, 'engine', str('engine')!, Object.keys(ENGINES)) : base?.engine ?? DEFAULTS.engine,
    hidden: str('hidden') !== undefined ? intListFlag(cmd, 'hidden', str('hidden')!) : base?.hidden ?? DEFAULTS.hidden,
    activation: str('activation') !== undefined ? choiceFlag(cmd, 'activation', str('activation')!, Object.keys(ACTIVATIONS) as Activation[]) : base?.activation ?? DEFAULTS.activation,
    loss: str('loss') !== undefined ? choiceFlag(cmd, 'loss', str('loss')!, LOSSES) : base?.loss ?? md.loss ?? DEFAULTS.loss,
    optimizer,
    lr: str('lr') !== undefined ? numberFlag(cmd, 'lr', str('lr')!, { positive: true }) : base?.lr ?? DEFAULT_LR[optimizer],
    momentum: str('momentum') !== undefined ? numberFlag(cmd, 'momentum', str('momentum')!, { min: 0, max: 1 }) : base?.momentum ?? DEFAULTS.momentum,
    weightDecay: str('weight-decay') !== undefined ? numberFlag(cmd, 'weight-decay', str('weight-decay')!, { min: 0 }) : base?.weightDecay ?? DEFAULT_WEIGHT_DECAY[optimizer],
    scheduler: str('scheduler') !== undefined ? choiceFlag(cmd, 'scheduler', str('scheduler')!, SCHEDULERS) : base?.scheduler ?? DEFAULTS.scheduler,
    batchSize: str('batch-size') !== undefined ? intFlag(cmd, 'batch-size', str('batch-size')!, 1) : base?.batchSize ?? DEFAULTS.batchSize,
    epochs: str('epochs') !== undefined ? intFlag(cmd, 'epochs', str('epochs')!, 0) : base?.epochs ?? DEFAULTS.epochs,
    seed: str('seed') !== undefined ? intFlag(cmd, 'seed', str('seed')!, 0, 2 ** 32 - 1) : base?.seed ?? DEFAULTS.seed,
    normalize: v.normalize !== undefined ? Boolean(v.normalize) : base?.normalize ?? md.normalize ?? DEFAULTS.normalize,
    limit: str('limit') !== undefined ? intFlag(cmd, 'limit', str('limit')!, 0, 60000) : base?.limit ?? DEFAULTS.limit,
  };
  if (c.momentum !== 0 && c.optimizer !== 'sgd') throw new UsageError(`${cmd}: --momentum applies to --optimizer sgd only (got --optimizer ${c.optimizer})`);
  if (base) {
    if (c.scheduler === 'cosine' && c.epochs !== base.epochs) {
      throw new UsageError(`${cmd}: --epochs cannot change when resuming a run with --scheduler cosine (its schedule spans ${base.epochs} epochs)`);
    }
    // a resumed run keeps its configuration; only --epochs may change
    for (const [key, flag] of Object.entries(CONFIG_FLAGS) as [keyof TrainConfig, string][]) {
      if (key === 'epochs' || v[flag] === undefined) continue;
      if (JSON.stringify(c[key]) !== JSON.stringify(base[key])) {
        throw new UsageError(`${cmd}: --${flag} ${JSON.stringify(c[key])} differs from the resumed checkpoint's ${JSON.stringify(base[key])}; a resumed run keeps its configuration (only --epochs may change)`);
      }
    }
  }
  return c;
}

export function resolveRunOptions(v: Values): RunOptions {
  const cmd = 'nabla train';
  const str = (k: string): string | undefined => v[k] as string | undefined;
  const o: RunOptions = {
    testBatchSize: str('test-batch-size') !== undefined ? intFlag(cmd, 'test-batch-size', str('test-batch-size')!, 1) : DEFAULTS.testBatchSize,
    logInterval: str('log-interval') !== undefined ? intFlag(cmd, 'log-interval', str('log-interval')!, 0) : DEFAULTS.logInterval,
    progress: v['no-progress'] ? false : 'auto',
    eager: v.eager === true,
  };
  for (const k of ['save', 'resume', 'backend', 'data'] as const) {
    const s = str(k);
    if (s !== undefined) {
      if (s === '') throw new UsageError(`${cmd}: --${k} needs a value`);
      o[k] = s;
    }
  }
  if (str('threads') !== undefined) o.threads = intFlag(cmd, 'threads', str('threads')!, 1, 1024);
  return o;
}

/** Check a configuration read back from a checkpoint (written by this CLI). */
export function checkStoredConfig(x: unknown, file: string): TrainConfig {
  const c = x as Partial<TrainConfig> | null;
  const ok = c !== null && typeof c === 'object' && typeof c.model === 'string' && Array.isArray(c.hidden) && typeof c.activation === 'string'
    && typeof c.loss === 'string' && typeof c.optimizer === 'string' && typeof c.lr === 'number' && typeof c.batchSize === 'number' && typeof c.seed === 'number';
  if (!ok) throw new UsageError(`checkpoint ${file} was not written by \`nabla train\` (no training configuration in its metadata)`);
  return { engine: DEFAULTS.engine, momentum: 0, weightDecay: 0, scheduler: 'none', epochs: 0, normalize: false, limit: 0, ...c } as TrainConfig;
}
