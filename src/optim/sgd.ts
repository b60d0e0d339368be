/** optim.SGD: stochastic gradient descent with momentum, dampening, Nesterov and weight decay. */
import { add, mul, neg, sub } from '../ops/elementwise.js';
import { clone, copy_ } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { BoundSteps, type FusedOptimizerKernels, type SgdStepArgs, fusedKernels, rawArrays, stateBeside, stateZerosLike } from './fused.js';
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

/** SGD steps bound by the backend, and what each binding holds for (the options it fixed; the rate is per call). */
const boundSteps = new BoundSteps<(lr: number) => boolean>();
const stepKeys = (kernels: FusedOptimizerKernels, p: Tensor, grad: Tensor, buf: unknown, o: SGDOptions): unknown[] =>
  [kernels, p.data, grad, grad.data, buf, o.momentum, o.dampening, o.weightDecay, o.nesterov, o.maximize];

/** One SGD step of p in place; the fused backend kernel when there is one, else tensor ops. */
export function sgdUpdate(p: Tensor, grad: Tensor, state: ParamState, o: SGDOptions): void {
  const kernels = fusedKernels(), fused = kernels.sgdStep;
  if (kernels.bindSgdStep && boundSteps.get(p, stepKeys(kernels, p, grad, state.momentum_buffer, o))?.(o.lr)) return;
  const firstStep = state.momentum_buffer == null;
  if (fused) {
    const buf = o.momentum === 0 ? null : firstStep ? stateZerosLike(p) : stateBeside(p, state.momentum_buffer as Tensor);
    const raw = rawArrays(...(buf ? [p, grad, buf] : [p, grad]));
    if (raw) {
      state.momentum_buffer = buf;
      const args: SgdStepArgs = {
        n: p.size, param: raw[0]!, grad: raw[1]!, momentumBuffer: raw[2] ?? null, firstStep,
        lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov, maximize: o.maximize,
      };
      fused(args);
      // the next steps see the momentum buffer this one made, so they have firstStep only without momentum
      if (kernels.bindSgdStep) boundSteps.note(p, stepKeys(kernels, p, grad, buf, o), () => kernels.bindSgdStep!({ ...args, firstStep: buf === null }));
      return;
    }
  }
  boundSteps.drop(p);
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
