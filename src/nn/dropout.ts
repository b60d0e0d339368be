/** nn.Dropout. */
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { pyFloat } from './activation.js';
import { dropout } from './functional/activation.js';
import { Module } from './module.js';

/**
 * In training mode, zeroes each element with probability p and scales the rest by 1/(1 − p);
 * in evaluation mode (`model.eval()`), returns the input unchanged.
 */
export class Dropout extends Module {
  readonly p: number;
  /** Generator for the masks (default: the global one). */
  generator: Generator | undefined;
  constructor(p = 0.5, opts: { generator?: Generator } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability p must be between 0 and 1, got ${p}`);
    this.p = p;
    this.generator = opts.generator;
  }
  override forward(input: Tensor): Tensor {
    return dropout(input, this.p, { training: this.training, generator: this.generator });
  }
  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=False`; }
}
