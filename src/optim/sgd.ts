/** optim.SGD: stochastic gradient descent with momentum, dampening, Nesterov and weight decay. */
import { add, mul, neg, sub } from '../ops/elementwise.js';
import { clone, copy_ } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TypedArray } from '../tensor/dtype.js';
import { type FusedOptimizerKernels, type SgdStepArgs, fusedKernels, rawArrays, stateBeside, stateZerosLike } from './fused.js';
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

/**
 * A parameter's SGD step bound by the backend (FusedOptimizerKernels.bindSgdStep), with everything the binding took
 * as fixed: used while all of it is unchanged, so a bound step computes exactly what the fused kernel would.
 */
interface BoundStep {
  kernels: FusedOptimizerKernels; data: TypedArray; grad: Tensor; gradData: TypedArray; buf: unknown;
  momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean;
  /** Null until the same gradient storage was seen twice (an eager loop makes a new gradient every step). */
  run: ((lr: number) => boolean) | null;
}
const boundSteps = new WeakMap<Tensor, BoundStep>();

/** One SGD step of p in place; the fused backend kernel when there is one, else tensor ops. */
export function sgdUpdate(p: Tensor, grad: Tensor, state: ParamState, o: SGDOptions): void {
  const kernels = fusedKernels(), fused = kernels.sgdStep;
  const b = boundSteps.get(p);
  if (b && b.run && b.kernels === kernels && b.data === p.data && b.grad === grad && b.gradData === grad.data && b.buf === state.momentum_buffer &&
    b.momentum === o.momentum && b.dampening === o.dampening && b.weightDecay === o.weightDecay && b.nesterov === o.nesterov &&
    b.maximize === o.maximize && b.run(o.lr)) return;
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
      if (kernels.bindSgdStep) bindNext(p, grad, buf, o, kernels, { ...args, firstStep: buf === null });
      return;
    }
  }
  boundSteps.delete(p);
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

/**
 * After a fused step: note the arrays, and bind the next steps once the same gradient storage comes a second time
 * (the following steps then see the momentum buffer this one made, so `next` has firstStep only without momentum).
 */
function bindNext(p: Tensor, grad: Tensor, buf: Tensor | null, o: SGDOptions, kernels: FusedOptimizerKernels, next: SgdStepArgs): void {
  const b = boundSteps.get(p);
  const again = b !== undefined && b.kernels === kernels && b.data === p.data && b.grad === grad && b.gradData === grad.data;
  boundSteps.set(p, {
    kernels, data: p.data, grad, gradData: grad.data, buf,
    momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov, maximize: o.maximize,
    run: again ? kernels.bindSgdStep!(next) : null,
  });
}
