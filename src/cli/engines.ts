/**
 * Training engines of `nabla train`, by name (`--engine`). An engine receives the resolved configuration,
 * the datasets and the output functions, and runs the whole training (log, checkpoints, final accuracy).
 * To add one (e.g. `classic`, backpropagation written out by hand), add an entry to ENGINES.
 */
import type { Dataset } from '../data/dataset.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LoadedCheckpoint } from '../train/checkpoint.js';
import { trainWithAutograd } from './train-autograd.js';
import { trainWithClassic } from './train-classic.js';
import type { RunOptions, TrainConfig } from './config.js';

export interface EngineContext {
  config: TrainConfig;
  options: RunOptions;
  /** MNIST training images [N, 1, 28, 28] float32 and labels int32 (the first --limit when given). */
  trainSet: Dataset<Tensor[]>;
  /** The 10 000 MNIST test images. */
  testSet: Dataset<Tensor[]>;
  /** The checkpoint given by --resume, already read (its configuration is `config`). */
  resume: LoadedCheckpoint | null;
  /** Print a line of output. */
  log(line: string): void;
}

export type Engine = (ctx: EngineContext) => Promise<void>;

export const ENGINES: Record<string, Engine> = {
  autograd: trainWithAutograd,
  classic: trainWithClassic,
};
