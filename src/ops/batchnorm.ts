/**
 * Batch normalisation over dim 1 (channels) of [N, C, ...], as torch.nn.functional.batch_norm.
 * Composed from primitives, so its gradients (and gradients of gradients) come from their rules.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { isFloat } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { add, div, mul, sqrt, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { copy_, reshape } from './shape.js';

export interface BatchNormOptions {
  /** Normalise with the batch's statistics (and update the running ones) rather than the running ones. Default false. */
  training?: boolean;
  /** Weight of the new batch in the running averages: r ← (1 − m)·r + m·batch. Default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
}

function checkVector(t: Tensor | null | undefined, name: string, C: number, x: Tensor): void {
  if (t == null) return;
  if (!(t instanceof Tensor) || t.ndim !== 1 || t.shape[0] !== C) {
    throw new Error(`batchNorm: expected ${name} [${C}] for input ${fmt(x.shape)} with ${C} channels, got ${t instanceof Tensor ? fmt(t.shape) : typeof t}`);
  }
}

/**
 * y = (x − mean) / √(var + eps) · weight + bias per channel. In training, mean and biased var come from the
 * batch, and runningMean/runningVar (when given) are updated in place, the variance with Bessel's correction.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight?: Tensor | null, bias?: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError('batchNorm: input must be a Tensor');
  if (x.ndim < 2) throw new Error(`batchNorm: expected input [N, C, ...] with at least 2 dims, got ${fmt(x.shape)}`);
  if (!isFloat(x.dtype)) throw new Error(`batchNorm: expected a floating-point input, got ${x.dtype}`);
  const C = x.shape[1]!;
  checkVector(runningMean, 'runningMean', C, x);
  checkVector(runningVar, 'runningVar', C, x);
  checkVector(weight, 'weight', C, x);
  checkVector(bias, 'bias', C, x);
  const training = opts.training ?? false, momentum = opts.momentum ?? 0.1, eps = opts.eps ?? 1e-5;
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const perChannel = (t: Tensor): Tensor => reshape(t, bshape);
  let dev: Tensor, invStd: Tensor;
  if (training) {
    const n = x.size / Math.max(C, 1);
    if (n <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input ${fmt(x.shape)}`);
    const m = mean(x, dims, true);
    dev = sub(x, m);
    const v = div(sum(mul(dev, dev), dims, true), n); // biased: normalisation uses the batch's own spread
    invStd = div(1, sqrt(add(v, eps)));
    if (runningMean || runningVar) {
      noGrad(() => {
        if (runningMean) copy_(runningMean, add(mul(runningMean, 1 - momentum), mul(reshape(m, [C]), momentum)));
        // unbiased (n − 1) estimate for the running variance, as PyTorch
        if (runningVar) copy_(runningVar, add(mul(runningVar, 1 - momentum), mul(reshape(v, [C]), (momentum * n) / (n - 1))));
      });
    }
  } else {
    if (!runningMean || !runningVar) throw new Error('batchNorm: runningMean and runningVar are required when training is false');
    dev = sub(x, perChannel(runningMean));
    invStd = div(1, sqrt(add(perChannel(runningVar), eps)));
  }
  // fold weight into the per-channel scale, so the full-size tensor is touched once more
  const scale = weight ? mul(invStd, perChannel(weight)) : invStd;
  const y = mul(dev, scale);
  return bias ? add(y, perChannel(bias)) : y;
}
