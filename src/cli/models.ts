/**
 * Models the CLI can build, by name (`--model`). To add one (e.g. `cnn`), add an entry to MODELS:
 * it receives the parsed configuration and returns an nn.Module mapping [N, 1, 28, 28] images to [N, 10].
 */
import { Flatten } from '../nn/flatten.js';
import { Linear } from '../nn/linear.js';
import { ReLU, Sigmoid, Tanh } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import type { Module } from '../nn/module.js';
import { Conv2d } from '../nn/conv.js';
import { MaxPool2d } from '../nn/pooling.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Dropout } from '../nn/dropout.js';
import type { ModelConfig, TrainConfig } from './config.js';

export const ACTIVATIONS = { sigmoid: () => new Sigmoid(), relu: () => new ReLU(), tanh: () => new Tanh() } as const;
export type Activation = keyof typeof ACTIVATIONS;

/**
 * The multilayer perceptron: Flatten, then Linear + activation for each hidden size, then Linear to 10
 * outputs; with the BCE and MSE losses the outputs go through a sigmoid too (probabilities for one-hot
 * targets, as in the classic program), with cross-entropy they stay logits.
 * State-dict keys are those of the same torch.nn.Sequential (`1.weight`, `1.bias`, `3.weight`, ...).
 */
export function buildMlp(c: ModelConfig): Module {
  const layers: Module[] = [new Flatten()];
  let width = 28 * 28;
  for (const h of c.hidden) {
    layers.push(new Linear(width, h), ACTIVATIONS[c.activation]());
    width = h;
  }
  layers.push(new Linear(width, 10));
  if (c.loss !== 'ce') layers.push(new Sigmoid());
  return new Sequential(...layers);
}

/** A one-line description of a model, for the log. */
export function describeMlp(c: ModelConfig): string {
  const out = c.loss === 'ce' ? 'logits' : 'sigmoid';
  return `MLP ${[784, ...c.hidden, 10].join('-')}, ${c.activation} hidden, ${out} outputs`;
}

/**
 * The reference CNN: conv 1→32 3×3, ReLU, max-pool 2, conv 32→64 3×3, ReLU, max-pool 2, linear 1600→128,
 * ReLU, linear 128→10 (logits). Keys as the same torch.nn.Sequential: `0.*` conv1, `3.*` conv2, `7.*`, `9.*` linears.
 */
export function buildCnn(): Module {
  return new Sequential(
    new Conv2d(1, 32, 3), new ReLU(), new MaxPool2d(2),
    new Conv2d(32, 64, 3), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(1600, 128), new ReLU(), new Linear(128, 10));
}

/**
 * The reference CNN with batch norm after each convolution and dropout before each linear layer
 * (0.25 and 0.5): the recipe that passes 99.2 % (docs/cnn.md). Convolutions without bias (batch norm's shift replaces it).
 */
export function buildCnnBn(): Module {
  return new Sequential(
    new Conv2d(1, 32, 3, { bias: false }), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2),
    new Conv2d(32, 64, 3, { bias: false }), new BatchNorm2d(64), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Dropout(0.25), new Linear(1600, 128), new ReLU(), new Dropout(0.5), new Linear(128, 10));
}

export interface ModelEntry {
  build(c: ModelConfig): Module;
  describe(c: ModelConfig): string;
  /** Defaults this model changes (flags still override them), e.g. the CNNs train with cross-entropy and Adam. */
  defaults?: Partial<Pick<TrainConfig, 'loss' | 'optimizer' | 'normalize'>>;
}

const CNN_DEFAULTS = { loss: 'ce', optimizer: 'adam', normalize: true } as const;

export const MODELS: Record<string, ModelEntry> = {
  mlp: { build: buildMlp, describe: describeMlp },
  cnn: { build: buildCnn, describe: () => 'CNN conv 1→32 3×3, max-pool, conv 32→64 3×3, max-pool, linear 1600→128→10, ReLU', defaults: CNN_DEFAULTS },
  'cnn-bn': { build: buildCnnBn, describe: () => 'CNN conv 1→32, 32→64 3×3 with batch norm and max-pool, dropout 0.25 / 0.5, linear 1600→128→10, ReLU', defaults: CNN_DEFAULTS },
};

/** Build the model named by `c.model`. */
export function buildModel(c: ModelConfig): Module {
  const entry = MODELS[c.model];
  if (!entry) throw new Error(`unknown model '${c.model}' (available: ${Object.keys(MODELS).join(', ')})`);
  return entry.build(c);
}
