/**
 * Fused optimizer steps for the native backend (the seam of src/optim/fused.ts): one pass over the raw
 * arrays in the addon for float32, the same update written out in TypeScript for any other dtype.
 */
import type { AdamStepArgs, SgdStepArgs } from '../../optim/fused.js';
import type { NativeAddon } from './addon.js';

/** Below this many elements the TypeScript loop is cheaper than a call into the addon. */
const MIN_NATIVE = 256;

const f32 = (...xs: unknown[]): boolean => xs.every((x) => x === null || x instanceof Float32Array);

/** d = ±g + wd·p; b = first ? d : μ·b + (1 − τ)·d; d = nesterov ? d + μ·b : b; p −= lr·d. */
function sgdLoop(a: SgdStepArgs): void {
  const { param: p, grad: g, momentumBuffer: buf } = a;
  for (let i = 0; i < a.n; i++) {
    let d = a.maximize ? -g[i]! : g[i]!;
    if (a.weightDecay !== 0) d += a.weightDecay * p[i]!;
    if (buf) {
      const b = a.firstStep ? d : a.momentum * buf[i]! + (1 - a.dampening) * d;
      buf[i] = b;
      d = a.nesterov ? d + a.momentum * b : b;
    }
    p[i] = p[i]! - a.lr * d;
  }
}

/** Adam/AdamW: m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g², p −= lr/bc1 · m / (√v̂/√bc2 + eps). */
function adamLoop(a: AdamStepArgs): void {
  const bc1 = 1 - a.beta1 ** a.step, sbc2 = Math.sqrt(1 - a.beta2 ** a.step);
  const { param: p, grad, expAvg: m, expAvgSq: v, maxExpAvgSq: vmax } = a;
  for (let i = 0; i < a.n; i++) {
    let g = a.maximize ? -grad[i]! : grad[i]!;
    if (a.weightDecay !== 0) {
      if (a.decoupled) p[i] = p[i]! * (1 - a.lr * a.weightDecay);
      else g += a.weightDecay * p[i]!;
    }
    m[i] = a.beta1 * m[i]! + (1 - a.beta1) * g;
    v[i] = a.beta2 * v[i]! + (1 - a.beta2) * g * g;
    let vh = v[i]!;
    if (vmax) { vh = Math.max(vmax[i]!, vh); vmax[i] = vh; }
    p[i] = p[i]! - (a.lr / bc1) * m[i]! / (Math.sqrt(vh) / sbc2 + a.eps);
  }
}

export interface FusedSteps {
  sgdStep(a: SgdStepArgs): void;
  adamStep(a: AdamStepArgs): void;
}

export function fusedSteps(addon: NativeAddon): FusedSteps {
  const sgd = addon.sgdStep.bind(addon), adam = addon.adamStep.bind(addon);
  return {
    sgdStep(a: SgdStepArgs): void {
      if (a.n < MIN_NATIVE || !f32(a.param, a.grad, a.momentumBuffer)) { sgdLoop(a); return; }
      sgd(a.param as Float32Array, a.grad as Float32Array, a.momentumBuffer as Float32Array | null, a.n, a.lr, a.momentum, a.dampening, a.weightDecay,
        a.nesterov ? 1 : 0, a.maximize ? 1 : 0, a.firstStep ? 1 : 0);
    },
    adamStep(a: AdamStepArgs): void {
      if (a.n < MIN_NATIVE || !f32(a.param, a.grad, a.expAvg, a.expAvgSq, a.maxExpAvgSq)) { adamLoop(a); return; }
      const bc1 = 1 - a.beta1 ** a.step, bc2 = 1 - a.beta2 ** a.step;
      adam(a.param as Float32Array, a.grad as Float32Array, a.expAvg as Float32Array, a.expAvgSq as Float32Array,
        a.maxExpAvgSq as Float32Array | null, a.n, a.lr, a.beta1, a.beta2, a.eps, a.weightDecay,
        a.lr / bc1, 1 / Math.sqrt(bc2), a.decoupled ? 1 : 0, a.maximize ? 1 : 0);
    },
  };
}
