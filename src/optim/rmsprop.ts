/** optim.RMSprop. */
import { add, div, mul, neg, sqrt, sub } from '../ops/elementwise.js';
import { copy_ } from '../ops/shape.js';
import { zerosLike } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface RMSpropOptions {
  /** Learning rate (default 0.01). */
  lr: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Added to the denominator for stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalise by the estimated variance instead of the raw second moment (default false). */
  centered: boolean;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

/**
 * RMSprop (torch.optim.RMSprop): g += wd·p; s = α·s + (1 − α)·g²; centered: ḡ = α·ḡ + (1 − α)·g
 * and s̃ = s − ḡ²; a = √s̃ + eps; momentum: b = μ·b + g/a, p −= lr·b; else p −= lr·g/a.
 * State: `step`, `square_avg`, `momentum_buffer` (momentum > 0), `grad_avg` (centered).
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsInput<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...opts });
  }

  protected override validate(g: ParamGroup & RMSpropOptions): void {
    super.validate(g);
    if (!(g.alpha >= 0)) throw new Error(`RMSprop: invalid alpha value: ${g.alpha}`);
    if (!(g.eps >= 0)) throw new Error(`RMSprop: invalid epsilon value: ${g.eps}`);
    if (!(g.momentum >= 0)) throw new Error(`RMSprop: invalid momentum value: ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new Error(`RMSprop: invalid weightDecay value: ${g.weightDecay}`);
  }

  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup & RMSpropOptions): void {
    rmspropUpdate(p, grad, state, g);
  }
}

/** One RMSprop step of p in place, with tensor ops. */
export function rmspropUpdate(p: Tensor, grad: Tensor, state: ParamState, o: RMSpropOptions): void {
  if (state.step === undefined) {
    state.step = 0;
    state.square_avg = zerosLike(p);
  }
  if (o.momentum > 0 && state.momentum_buffer === undefined) state.momentum_buffer = zerosLike(p);
  if (o.centered && state.grad_avg === undefined) state.grad_avg = zerosLike(p);
  state.step = (state.step as number) + 1;
  let g = o.maximize ? neg(grad) : grad;
  if (o.weightDecay !== 0) g = add(g, mul(p, o.weightDecay));
  const sq = add(mul(state.square_avg as Tensor, o.alpha), mul(mul(g, g), 1 - o.alpha));
  state.square_avg = sq;
  let avg: Tensor;
  if (o.centered) {
    const ga = add(mul(state.grad_avg as Tensor, o.alpha), mul(g, 1 - o.alpha));
    state.grad_avg = ga;
    avg = add(sqrt(sub(sq, mul(ga, ga))), o.eps);
  } else {
    avg = add(sqrt(sq), o.eps);
  }
  if (o.momentum > 0) {
    const buf = add(mul(state.momentum_buffer as Tensor, o.momentum), div(g, avg));
    state.momentum_buffer = buf;
    copy_(p, sub(p, mul(buf, o.lr)));
  } else {
    copy_(p, sub(p, mul(div(g, avg), o.lr)));
  }
}
