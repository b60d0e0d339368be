/** optim.Adam and optim.AdamW. */
import { add, div, maximum, mul, neg, sqrt, sub } from '../ops/elementwise.js';
import { copy_ } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { type AdamStepArgs, BoundSteps, type FusedOptimizerKernels, fusedKernels, rawArrays, stateBeside, stateZerosLike } from './fused.js';
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

/** Adam steps bound by the backend, and what each binding holds for (the rate and step count are per call). */
const boundSteps = new BoundSteps<(lr: number, step: number) => boolean>();
const stepKeys = (kernels: FusedOptimizerKernels, p: Tensor, grad: Tensor, state: ParamState, o: AdamOptions, decoupled: boolean): unknown[] =>
  [kernels, p.data, grad, grad.data, state.exp_avg, state.exp_avg_sq, o.amsgrad ? state.max_exp_avg_sq : undefined,
    o.betas[0], o.betas[1], o.eps, o.weightDecay, decoupled, o.amsgrad, o.maximize];

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
  if (kernels.bindAdamStep && boundSteps.get(p, stepKeys(kernels, p, grad, state, o, decoupled))?.(o.lr, step)) return;
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
      if (kernels.bindAdamStep) boundSteps.note(p, stepKeys(kernels, p, grad, state, o, decoupled), () => kernels.bindAdamStep!(args));
      return;
    }
  }
  boundSteps.drop(p);
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
