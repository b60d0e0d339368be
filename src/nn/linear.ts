/** nn.Linear and nn.Identity. */
import { noGrad } from '../autograd/grad-mode.js';
import { empty } from '../ops/util.js';
import type { DType } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { linear } from './functional/activation.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the global one). */
  generator?: Generator;
  /** Default float32. */
  dtype?: DType;
}

/**
 * y = x Wᵀ + b (torch.nn.Linear). `weight` is [outFeatures, inFeatures] and `bias` [outFeatures],
 * both initialised as PyTorch does: U(−1/√inFeatures, 1/√inFeatures) (kaiming_uniform with a = √5).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    for (const [n, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`Linear: ${n} must be a non-negative integer, got ${v}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(empty([outFeatures, inFeatures], dtype));
    this.bias = opts.bias === false ? null : new Parameter(empty([outFeatures], dtype));
    this.resetParameters(opts.generator);
  }

  /** Draw fresh initial values (weight first, then bias, as PyTorch). */
  resetParameters(generator?: Generator): void {
    noGrad(() => {
      if (this.weight.size > 0) kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
      if (this.bias && this.inFeatures > 0) {
        const bound = 1 / Math.sqrt(calculateFanInAndFanOut(this.weight).fanIn);
        uniform_(this.bias, -bound, bound, { generator });
      }
    });
  }

  override forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}

/** Returns its input unchanged (a placeholder layer). */
export class Identity extends Module {
  override forward(input: Tensor): Tensor {
    return input;
  }
}
