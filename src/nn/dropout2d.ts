/** Channel dropout: nn.Dropout2d and its functional form, dropout2d. */
import { noGrad } from '../autograd/grad-mode.js';
import { div, lt, mul } from '../ops/elementwise.js';
import { to } from '../ops/shape.js';
import { rand } from '../tensor/create.js';
import { isFloat } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { pyFloat } from './activation.js';
import { Module } from './module.js';

export interface Dropout2dOptions {
  /** Apply dropout (true) or return the input unchanged (false). Default true. */
  training?: boolean;
  generator?: Generator;
}

/**
 * Zero whole channels of [N, C, H, W] (or unbatched [C, H, W]) with probability p and scale the
 * rest by 1/(1 − p), as torch.nn.functional.dropout2d: neighbouring pixels are correlated, so
 * dropping single elements barely regularises a convolution.
 */
export function dropout2d(x: Tensor, p = 0.5, opts: Dropout2dOptions = {}): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError('dropout2d: input must be a Tensor');
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout2d: probability p must be between 0 and 1, got ${p}`);
  if (x.ndim !== 3 && x.ndim !== 4) throw new Error(`dropout2d: expected input [N, C, H, W] (or unbatched [C, H, W]), got ${fmt(x.shape)}`);
  if (opts.training === false || p === 0) return x;
  if (!isFloat(x.dtype)) throw new Error(`dropout2d: input must be floating point, got ${x.dtype}`);
  if (p === 1) return mul(x, 0);
  const maskShape = x.shape.map((d, i) => (i < x.ndim - 2 ? d : 1)); // one draw per channel
  const keep = noGrad(() => div(to(lt(rand(maskShape, { dtype: x.dtype, generator: opts.generator }), 1 - p), x.dtype), 1 - p));
  return mul(x, keep); // ∂ = mask / (1 − p), from mul's rule
}

/** Channel dropout in training mode; the identity after `model.eval()` (torch.nn.Dropout2d). */
export class Dropout2d extends Module {
  readonly p: number;
  /** Generator for the masks (default: the global one). */
  generator: Generator | undefined;
  constructor(p = 0.5, opts: { generator?: Generator } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout2d: probability p must be between 0 and 1, got ${p}`);
    this.p = p;
    this.generator = opts.generator;
  }
  override forward(input: Tensor): Tensor {
    return dropout2d(input, this.p, { training: this.training, generator: this.generator });
  }
  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=False`; }
}
