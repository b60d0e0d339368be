/**
 * Batch normalisation over dim 1 (channels) of [N, C, ...], as torch.nn.functional.batch_norm.
 * Training mode runs fused kernels (statistics, one affine pass; in backward one pass of sums and one of
 * gradients); when a graph of the backward is recorded (gradients of gradients), the same gradient is
 * written as tensor expressions instead. Eval mode is a per-channel affine map composed from primitives.
 */
import { backend, type View } from '../backend/backend.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/node.js';
import { allocate, isFloat } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { hostStep } from '../tensor/trace.js';
import { add, div, mul, sqrt, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { contiguous, copy_, reshape } from './shape.js';
import { empty, uninitialized } from './util.js';

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

/** x [N, C, ...] as a kernel view [N, C, S] (a contiguous copy when the trailing dims do not flatten). */
function asNCS(x: Tensor): View {
  const S = x.shape.slice(2).reduce((p, d) => p * d, 1);
  let ok = true;
  for (let i = x.ndim - 2; i >= 2; i--) if (x.shape[i + 1] !== 1 && x.strides[i] !== x.strides[i + 1]! * x.shape[i + 1]!) ok = false;
  const t = ok ? x : contiguous(x);
  return { data: t.data, shape: [x.shape[0]!, x.shape[1]!, S], strides: [t.strides[0]!, t.strides[1]!, x.ndim > 2 ? t.strides[x.ndim - 1]! : 1], offset: t.offset };
}

/** Per-channel values of an optional [C] tensor as float64 (fallback when absent). */
function channelValues(t: Tensor | null | undefined, C: number, fallback: number): Float64Array {
  const out = (allocate('float64', C) as Float64Array).fill(fallback);
  if (t) backend().copy(t, { data: out, shape: [C], strides: [1], offset: 0 });
  return out;
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
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const perChannel = (t: Tensor): Tensor => reshape(t, bshape);
  if (!training) {
    if (!runningMean || !runningVar) throw new Error('batchNorm: runningMean and runningVar are required when training is false');
    // a fixed per-channel affine map: y = (x − μ)·w/√(σ² + eps) + b
    const invStd = div(1, sqrt(add(perChannel(runningVar), eps)));
    const y = mul(sub(x, perChannel(runningMean)), weight ? mul(invStd, perChannel(weight)) : invStd);
    return bias ? add(y, perChannel(bias)) : y;
  }
  const n = x.size / Math.max(C, 1);
  if (n <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input ${fmt(x.shape)}`);
  const be = backend(), xv = asNCS(x);
  const mu = allocate('float64', C) as Float64Array, variance = allocate('float64', C) as Float64Array;
  be.batchNormStats(xv, mu, variance);
  const w = channelValues(weight, C, 1), b = channelValues(bias, C, 0);
  const invStd = allocate('float64', C) as Float64Array, scale = allocate('float64', C) as Float64Array, shift = allocate('float64', C) as Float64Array;
  hostStep(() => { // per-channel arithmetic in JavaScript: repeated on every replay of a compiled step
    for (let c = 0; c < C; c++) {
      invStd[c] = 1 / Math.sqrt(variance[c]! + eps);
      scale[c] = invStd[c]! * w[c]!;
      shift[c] = b[c]! - mu[c]! * scale[c]!;
    }
  }, [variance, w, b, mu]);
  const y = uninitialized(x.shape, x.dtype); // written in full
  be.channelAffine(xv, scale, shift, y.data);
  if (runningMean || runningVar) {
    const vec = (v: Float64Array): Tensor => new Tensor(v, [C]);
    noGrad(() => {
      if (runningMean) copy_(runningMean, add(mul(runningMean, 1 - momentum), mul(vec(mu), momentum)));
      // unbiased (n − 1) estimate for the running variance, as PyTorch
      if (runningVar) copy_(runningVar, add(mul(runningVar, 1 - momentum), mul(vec(variance), (momentum * n) / (n - 1))));
    });
  }
  return record(y, 'NativeBatchNormBackward', [x, weight, bias], (g) => {
    if (isGradEnabled()) return batchNormGradExpr(x, weight ?? null, g, eps);
    // with x̂ = (x − μ)/σ: ∂/∂b = Σg, ∂/∂w = Σg·x̂, ∂/∂x = (w/σ)·(g − mean(g) − x̂·mean(g·x̂))
    const sums = allocate('float64', 2 * C) as Float64Array;
    const gx = x.requiresGrad ? uninitialized(x.shape, g.dtype) : null;
    be.batchNormBackward(xv, asNCS(g), mu, invStd, scale, sums, gx ? gx.data : null);
    const vec = (from: number): Tensor => {
      const t = empty([C], x.dtype);
      be.copy({ data: sums, shape: [C], strides: [1], offset: from }, t);
      return t;
    };
    return [gx, weight?.requiresGrad ? vec(C) : null, bias?.requiresGrad ? vec(0) : null];
  });
}

/**
 * The same gradients as tensor expressions of x, weight and g (μ and σ recomputed from x), so that a
 * recorded backward can itself be differentiated.
 */
function batchNormGradExpr(x: Tensor, weight: Tensor | null, g: Tensor, eps: number): (Tensor | null)[] {
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const dev = sub(x, mean(x, dims, true));
  const invStd = div(1, sqrt(add(mean(mul(dev, dev), dims, true), eps)));
  const xhat = mul(dev, invStd);
  const gb = sum(g, dims, true), gw = sum(mul(g, xhat), dims, true);
  const M = x.size / x.shape[1]!;
  const scale = weight ? mul(invStd, reshape(weight, bshape)) : invStd;
  const gx = mul(scale, sub(sub(g, div(gb, M)), mul(xhat, div(gw, M))));
  return [x.requiresGrad ? gx : null, weight?.requiresGrad ? reshape(gw, [x.shape[1]!]) : null, reshape(gb, [x.shape[1]!])];
}
