/**
 * Models the CLI can build, by name (`--model`). To add one (e.g. `cnn`), add an entry to MODELS:
 * it receives the parsed configuration and returns an nn.Module mapping [N, 1, 28, 28] images to [N, 10].
 */
import { Flatten } from '../nn/flatten.js';
import { Linear } from '../nn/linear.js';
import { ReLU, Sigmoid, Tanh } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import type { Module } from '../nn/module.js';
import type { ModelConfig } from './config.js';

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

export interface ModelEntry {
  build(c: ModelConfig): Module;
  describe(c: ModelConfig): string;
}

export const MODELS: Record<string, ModelEntry> = {
  mlp: { build: buildMlp, describe: describeMlp },
};

/** Build the model named by `c.model`. */
export function buildModel(c: ModelConfig): Module {
  const entry = MODELS[c.model];
  if (!entry) throw new Error(`unknown model '${c.model}' (available: ${Object.keys(MODELS).join(', ')})`);
  return entry.build(c);
}
