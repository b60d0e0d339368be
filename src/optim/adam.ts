/** optim.Adam and optim.AdamW. */
import { add, div, maximum, mul, neg, sqrt, sub } from '../ops/elementwise.js';
import { copy_ } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TypedArray } from '../tensor/dtype.js';
import { type AdamStepArgs, type FusedOptimizerKernels, fusedKernels, rawArrays, stateBeside, stateZerosLike } from './fused.js';
import { Optimizer, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface AdamOptions {
  /** Learning rate (default 0.001). */
  lr: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps: number;
  /** Adam: L2 penalty added to the gradient (default 0); AdamW: decoupled decay (default 0.01). */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  amsgrad: boolean;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

function validateAdam(name: string, g: ParamGroup & AdamOptions): void {
  const [b1, b2] = Array.isArray(g.betas) ? g.betas : [NaN, NaN];
  if (!(b1 >= 0 && b1 < 1)) throw new Error(`${name}: invalid beta parameter at index 0: ${b1}`);
  if (!(b2 >= 0 && b2 < 1)) throw new Error(`${name}: invalid beta parameter at index 1: ${b2}`);
  if (!(g.eps >= 0)) throw new Error(`${name}: invalid epsilon value: ${g.eps}`);
  if (!(g.weightDecay >= 0)) throw new Error(`${name}: invalid weightDecay value: ${g.weightDecay}`);
}

/**
 * Adam (torch.optim.Adam): g += wd·p; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 * p −= lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + eps). State: `step`, `exp_avg`, `exp_avg_sq`
 * (and `max_exp_avg_sq` with amsgrad).
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...opts });
  }
  protected override validate(g: ParamGroup & AdamOptions): void {
    super.validate(g);
    validateAdam(this.constructor.name, g);
  }
  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup & AdamOptions): void {
    adamUpdate(p, grad, state, g, false);
  }
}

/**
 * AdamW (torch.optim.AdamW): Adam with decoupled weight decay, p ·= 1 − lr·wd before the Adam
 * step (default weightDecay 0.01).
 */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...opts });
  }
  protected override validate(g: ParamGroup & AdamOptions): void {
    super.validate(g);
    validateAdam(this.constructor.name, g);
  }
  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup & AdamOptions): void {
    adamUpdate(p, grad, state, g, true);
  }
}

/** One Adam (decoupled: AdamW) step of p in place; the fused backend kernel when there is one, else tensor ops. */
export function adamUpdate(p: Tensor, grad: Tensor, state: ParamState, o: AdamOptions, decoupled: boolean): void {
  if (state.step === undefined) {
    state.step = 0;
    state.exp_avg = stateZerosLike(p);
    state.exp_avg_sq = stateZerosLike(p);
    if (o.amsgrad) state.max_exp_avg_sq = stateZerosLike(p);
  }
  if (o.amsgrad && state.max_exp_avg_sq === undefined) state.max_exp_avg_sq = stateZerosLike(p);
  const step = (state.step as number) + 1;
  state.step = step;
  const [beta1, beta2] = o.betas;
  const kernels = fusedKernels(), fused = kernels.adamStep;
  const b = boundSteps.get(p);
  if (b && b.run && b.kernels === kernels && b.data === p.data && b.grad === grad && b.gradData === grad.data &&
    b.m === state.exp_avg && b.v === state.exp_avg_sq && b.vmax === (o.amsgrad ? state.max_exp_avg_sq : undefined) &&
    b.beta1 === beta1 && b.beta2 === beta2 && b.eps === o.eps && b.weightDecay === o.weightDecay && b.decoupled === decoupled &&
    b.amsgrad === o.amsgrad && b.maximize === o.maximize && b.run(o.lr, step)) return;
  if (fused) {
    state.exp_avg = stateBeside(p, state.exp_avg as Tensor);
    state.exp_avg_sq = stateBeside(p, state.exp_avg_sq as Tensor);
    if (o.amsgrad) state.max_exp_avg_sq = stateBeside(p, state.max_exp_avg_sq as Tensor);
    const ts = [p, grad, state.exp_avg as Tensor, state.exp_avg_sq as Tensor, ...(o.amsgrad ? [state.max_exp_avg_sq as Tensor] : [])];
    const raw = rawArrays(...ts);
    if (raw) {
      const args: AdamStepArgs = {
        n: p.size, param: raw[0]!, grad: raw[1]!, expAvg: raw[2]!, expAvgSq: raw[3]!, maxExpAvgSq: raw[4] ?? null,
        step, lr: o.lr, beta1, beta2, eps: o.eps, weightDecay: o.weightDecay, decoupled, amsgrad: o.amsgrad, maximize: o.maximize,
      };
      fused(args);
      if (kernels.bindAdamStep) bindNext(p, grad, state, o, decoupled, kernels, args);
      return;
    }
  }
  boundSteps.delete(p);
  let g = o.maximize ? neg(grad) : grad;
  let param: Tensor = p;
  if (o.weightDecay !== 0) {
    if (decoupled) param = mul(p, 1 - o.lr * o.weightDecay);
    else g = add(g, mul(p, o.weightDecay));
  }
  const m = add(mul(state.exp_avg as Tensor, beta1), mul(g, 1 - beta1));
  const v = add(mul(state.exp_avg_sq as Tensor, beta2), mul(mul(g, g), 1 - beta2));
  state.exp_avg = m;
  state.exp_avg_sq = v;
  let vHat = v;
  if (o.amsgrad) {
    vHat = maximum(state.max_exp_avg_sq as Tensor, v);
    state.max_exp_avg_sq = vHat;
  }
  const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
  const denom = add(div(sqrt(vHat), Math.sqrt(bc2)), o.eps);
  copy_(p, sub(param, mul(div(m, denom), o.lr / bc1)));
}

/**
 * A parameter's Adam step bound by the backend (FusedOptimizerKernels.bindAdamStep), with everything the binding took
 * as fixed: used while all of it is unchanged (the learning rate and the step count are given at each call).
 */
interface BoundStep {
  kernels: FusedOptimizerKernels; data: TypedArray; grad: Tensor; gradData: TypedArray; m: unknown; v: unknown; vmax: unknown;
  beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean; amsgrad: boolean; maximize: boolean;
  /** Null until the same gradient storage was seen twice (an eager loop makes a new gradient every step). */
  run: ((lr: number, step: number) => boolean) | null;
}
const boundSteps = new WeakMap<Tensor, BoundStep>();

/** After a fused step: note the arrays, and bind the next steps once the same gradient storage comes a second time. */
function bindNext(p: Tensor, grad: Tensor, state: ParamState, o: AdamOptions, decoupled: boolean, kernels: FusedOptimizerKernels, args: AdamStepArgs): void {
  const b = boundSteps.get(p);
  const again = b !== undefined && b.kernels === kernels && b.data === p.data && b.grad === grad && b.gradData === grad.data;
  const [beta1, beta2] = o.betas;
  boundSteps.set(p, {
    kernels, data: p.data, grad, gradData: grad.data, m: state.exp_avg, v: state.exp_avg_sq, vmax: o.amsgrad ? state.max_exp_avg_sq : undefined,
    beta1, beta2, eps: o.eps, weightDecay: o.weightDecay, decoupled, amsgrad: o.amsgrad, maximize: o.maximize,
    run: again ? kernels.bindAdamStep!(args) : null,
  });
}
