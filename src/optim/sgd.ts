/** optim.SGD: stochastic gradient descent with momentum, dampening, Nesterov and weight decay. */
import { add, mul, neg, sub } from '../ops/elementwise.js';
import { clone, copy_ } from '../ops/shape.js';
import { zerosLike } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { fusedKernels, rawArrays } from './fused.js';
import { Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

/**
 * Stochastic gradient descent, exactly as torch.optim.SGD:
 * d = g + wd·p; buf = μ·buf + (1 − τ)·d (buf = d at first); d = nesterov ? d + μ·buf : buf; p −= lr·d.
 *
 * @example
 * const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    if (!opts || typeof opts.lr !== 'number') throw new Error('SGD: the learning rate is required: new SGD(params, { lr: 0.1 })');
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts });
  }

  protected override validate(g: ParamGroup & SGDOptions): void {
    super.validate(g);
    if (!(g.momentum >= 0)) throw new Error(`SGD: invalid momentum value: ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay value: ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup & SGDOptions): void {
    sgdUpdate(p, grad, state, g);
  }
}

/** One SGD step of p in place; the fused backend kernel when there is one, else tensor ops. */
export function sgdUpdate(p: Tensor, grad: Tensor, state: ParamState, o: SGDOptions): void {
  const fused = fusedKernels().sgdStep;
  const firstStep = state.momentum_buffer == null;
  if (fused) {
    const buf = o.momentum === 0 ? null : firstStep ? zerosLike(p) : (state.momentum_buffer as Tensor);
    const raw = rawArrays(...(buf ? [p, grad, buf] : [p, grad]));
    if (raw) {
      state.momentum_buffer = buf;
      fused({
        n: p.size, param: raw[0]!, grad: raw[1]!, momentumBuffer: raw[2] ?? null, firstStep,
        lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov, maximize: o.maximize,
      });
      return;
    }
  }
  let d = o.maximize ? neg(grad) : grad;
  if (o.weightDecay !== 0) d = add(d, mul(p, o.weightDecay));
  if (o.momentum === 0) state.momentum_buffer = null; // as PyTorch: the key exists, holding None
  else {
    const buf = firstStep ? clone(d) : add(mul(state.momentum_buffer as Tensor, o.momentum), mul(d, 1 - o.dampening));
    state.momentum_buffer = buf;
    d = o.nesterov ? add(d, mul(buf, o.momentum)) : buf;
  }
  copy_(p, sub(p, mul(d, o.lr)));
}
