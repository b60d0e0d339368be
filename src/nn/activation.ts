/** Activation layers: thin modules over nn.functional. */
import type { Tensor } from '../tensor/tensor.js';
import * as F from './functional/activation.js';
import { Module } from './module.js';

/** σ(x) = 1 / (1 + e^−x), elementwise. */
export class Sigmoid extends Module {
  override forward(input: Tensor): Tensor { return F.sigmoid(input); }
}

/** max(x, 0), elementwise. */
export class ReLU extends Module {
  override forward(input: Tensor): Tensor { return F.relu(input); }
}

export class Tanh extends Module {
  override forward(input: Tensor): Tensor { return F.tanh(input); }
}

/** x for x > 0, negativeSlope·x otherwise. */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(opts: { negativeSlope?: number } = {}) {
    super();
    this.negativeSlope = opts.negativeSlope ?? 0.01;
  }
  override forward(input: Tensor): Tensor { return F.leakyRelu(input, this.negativeSlope); }
  override extraRepr(): string { return `negative_slope=${pyFloat(this.negativeSlope)}`; }
}

/** x·Φ(x), or its tanh approximation with `{ approximate: 'tanh' }`. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = opts.approximate ?? 'none';
    if (this.approximate !== 'none' && this.approximate !== 'tanh') throw new Error(`GELU: approximate must be 'none' or 'tanh', got '${String(this.approximate)}'`);
  }
  override forward(input: Tensor): Tensor { return F.gelu(input, { approximate: this.approximate }); }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

/** softmax along `dim` (default −1, the last dim). */
export class Softmax extends Module {
  readonly dim: number;
  constructor(opts: { dim?: number } = {}) {
    super();
    this.dim = opts.dim ?? -1;
  }
  override forward(input: Tensor): Tensor { return F.softmax(input, this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

/** log softmax along `dim` (default −1, the last dim). */
export class LogSoftmax extends Module {
  readonly dim: number;
  constructor(opts: { dim?: number } = {}) {
    super();
    this.dim = opts.dim ?? -1;
  }
  override forward(input: Tensor): Tensor { return F.logSoftmax(input, this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

/** A number as Python prints a float (0.01, 1.0, 0.5). */
export function pyFloat(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}
