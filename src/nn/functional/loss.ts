/**
 * Loss functions (torch.nn.functional): each returns the reduced loss (`reduction: 'mean'` by
 * default), stable at extreme logits and at probabilities of exactly 0 and 1.
 */
import { record } from '../../autograd/node.js';
import { isGradEnabled, noGrad } from '../../autograd/grad-mode.js';
import { backend } from '../../backend/backend.js';
import { uninitialized } from '../../ops/util.js';
import {
  abs, add, clamp, div, eq, exp, ge, log, logicalAnd, logicalNot, logicalOr, lt, gt, maximum, mul, ne, neg, rsub, sigmoid, sub, where,
} from '../../ops/elementwise.js';
import { argmax, max, sum, mean } from '../../ops/reduce.js';
import { logSoftmax } from '../../ops/softmax.js';
import { dataSync } from '../../ops/format.js';
import { expand, flatten, gather, indexSelect, reshape, scatterAdd, squeeze, to, unsqueeze } from '../../ops/shape.js';
import { full, zeros } from '../../tensor/create.js';
import { isFloat } from '../../tensor/dtype.js';
import { broadcastShapes, fmt, shapesEqual } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { hostStep } from '../../tensor/trace.js';

/** How a per-element loss is reduced: its mean (default), its sum, or not at all. */
export type Reduction = 'mean' | 'sum' | 'none';

export interface ReductionOptions {
  reduction?: Reduction;
}

function checkTensor(x: unknown, op: string, arg: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: argument '${arg}' must be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

function checkFloatInput(x: Tensor, op: string): void {
  if (!isFloat(x.dtype)) throw new Error(`${op}: input must be floating point (float32 or float64), got ${x.dtype}`);
}

function reductionOf(opts: ReductionOptions | undefined, op: string): Reduction {
  const r = opts?.reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(r)}'`);
  return r;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? mean(loss) : reduction === 'sum' ? sum(loss) : loss;
}

/** Same shape as input, with non-float targets (one-hot int32, bool) converted to input's dtype. */
function elementTarget(input: Tensor, target: Tensor, op: string): Tensor {
  checkTensor(input, op, 'input');
  checkTensor(target, op, 'target');
  checkFloatInput(input, op);
  if (!shapesEqual(input.shape, target.shape)) {
    throw new Error(`${op}: target ${fmt(target.shape)} does not match input ${fmt(input.shape)} (they must have the same shape)`);
  }
  return isFloat(target.dtype) ? target : to(target, input.dtype);
}

function checkWeight(w: Tensor | null | undefined, input: Tensor, op: string, arg = 'weight'): Tensor | null {
  if (w == null) return null;
  checkTensor(w, op, arg);
  try { broadcastShapes(w.shape, input.shape, op); } catch {
    throw new Error(`${op}: ${arg} ${fmt(w.shape)} cannot be broadcast to input ${fmt(input.shape)}`);
  }
  return w;
}

// ---------------------------------------------------------------- regression

/** Mean squared error: (x − y)². */
export function mseLoss(input: Tensor, target: Tensor, opts: ReductionOptions = {}): Tensor {
  const reduction = reductionOf(opts, 'mseLoss');
  const y = elementTarget(input, target, 'mseLoss');
  const d = sub(input, y);
  return reduce(mul(d, d), reduction);
}

/** Mean absolute error: |x − y| (gradient 0 where x = y, as PyTorch). */
export function l1Loss(input: Tensor, target: Tensor, opts: ReductionOptions = {}): Tensor {
  const reduction = reductionOf(opts, 'l1Loss');
  const y = elementTarget(input, target, 'l1Loss');
  return reduce(abs(sub(input, y)), reduction);
}

// ---------------------------------------------------------------- binary classification

export interface BCEOptions extends ReductionOptions {
  /** Rescales each element's loss (broadcast to input's shape); not differentiated. */
  weight?: Tensor | null;
}

/**
 * Binary cross entropy on probabilities p ∈ [0, 1]: −w·(y·log p + (1 − y)·log(1 − p)), each log
 * clamped at −100 as PyTorch does, so p of exactly 0 or 1 gives a finite loss and gradient.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BCEOptions = {}): Tensor {
  const op = 'binaryCrossEntropy';
  const reduction = reductionOf(opts, op);
  const y = elementTarget(input, target, op);
  const w = checkWeight(opts.weight, input, op);
  const outOfRange = (v: number) => new Error(`${op}: all elements of input should be probabilities between 0 and 1, found ${v} (apply sigmoid first, or use binaryCrossEntropyWithLogits)`);
  // the backend's fused kernel (terms and range check in one pass) when it has one, else the ops below
  const b = backend(), fused = b.bceForward && !w ? uninitialized(input.shape, input.dtype) : null;
  const badIndex = fused ? b.bceForward!(input, y, fused.data) : -2;
  if (badIndex >= 0) throw outOfRange(dataSync(input)[badIndex]!);
  if (badIndex === -2) hostStep(() => noGrad(() => { // a check on values: again on every replay of a compiled step
    const bad = logicalOr(lt(input, 0), gt(input, 1));
    if (sum(bad).item() > 0) throw outOfRange(dataSync(input)[argmax(to(bad, 'int32')).item()]!);
  }), [input.data]);
  const logs = (p: Tensor) => [clamp(log(p), -100), clamp(log(rsub(1, p)), -100)] as const;
  const loss = badIndex === -1 ? fused! : noGrad(() => {
    const [lp, l1p] = logs(input);
    const l = neg(add(mul(y, lp), mul(rsub(1, y), l1p)));
    return w ? mul(l, w) : l;
  });
  const scaled = (t: Tensor) => (w ? mul(t, w) : t);
  // the fused input gradient, except while recording the backward pass (double backward needs the expression)
  const fusedGrad = (g: Tensor): Tensor | null => {
    if (!b.bceBackward || w || isGradEnabled() || !shapesEqual(g.shape, input.shape)) return null;
    const gi = uninitialized(input.shape, input.dtype);
    return b.bceBackward(input, y, g, gi.data) ? gi : null;
  };
  const out = record(loss, 'BinaryCrossEntropyBackward', [input, y], (g) => [
    // ∂ℓ/∂p = w·(p − y) / max(p·(1 − p), 1e-12)
    input.requiresGrad ? fusedGrad(g) ?? mul(g, scaled(div(sub(input, y), clamp(mul(input, rsub(1, input)), 1e-12)))) : null,
    // ∂ℓ/∂y = w·(log(1 − p) − log p), both clamped at −100
    y.requiresGrad ? mul(g, scaled(sub(logs(input)[1], logs(input)[0]))) : null,
  ]);
  return reduce(out, reduction);
}

/** log(1 + u) accurate for tiny u (Kahan's trick), forward only. */
function log1p(u: Tensor): Tensor {
  const w = add(u, 1);
  return where(eq(w, 1), u, div(mul(log(w), u), sub(w, 1)));
}

export interface BCEWithLogitsOptions extends BCEOptions {
  /** Weight of the positive term, broadcast along the last dim (one per class); not differentiated. */
  posWeight?: Tensor | null;
}

/**
 * Sigmoid followed by binary cross entropy, computed stably from logits x:
 * ℓ = (1 − y)·x + (1 + (pw − 1)·y)·softplus(−x), exact and finite even at x = ±1000.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BCEWithLogitsOptions = {}): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const reduction = reductionOf(opts, op);
  const y = elementTarget(input, target, op);
  const w = checkWeight(opts.weight, input, op);
  const pw = checkWeight(opts.posWeight, input, op, 'posWeight');
  const lw = (yy: Tensor) => (pw ? add(mul(sub(pw, 1), yy), 1) : null);
  // softplus(−x) = max(−x, 0) + log1p(e^−|x|)
  const softplusNeg = (x: Tensor) => add(maximum(neg(x), 0), log1p(exp(neg(abs(x)))));
  const scaled = (t: Tensor) => (w ? mul(t, w) : t);
  const loss = noGrad(() => {
    const sp = softplusNeg(input), l = lw(y);
    return scaled(add(mul(rsub(1, y), input), l ? mul(l, sp) : sp));
  });
  const out = record(loss, 'BinaryCrossEntropyWithLogitsBackward', [input, y], (g) => {
    const l = lw(y);
    return [
      // ∂ℓ/∂x = w·(lw·σ(x) − pw·y), which is w·(σ(x) − y) without posWeight
      input.requiresGrad ? mul(g, scaled(l ? sub(mul(l, sigmoid(input)), mul(pw!, y)) : sub(sigmoid(input), y))) : null,
      // ∂ℓ/∂y = w·(−x + (pw − 1)·softplus(−x))
      y.requiresGrad ? mul(g, scaled(pw ? add(neg(input), mul(sub(pw, 1), softplusNeg(input))) : neg(input))) : null,
    ];
  });
  return reduce(out, reduction);
}

// ---------------------------------------------------------------- multi-class classification

export interface NLLLossOptions extends ReductionOptions {
  /** One weight per class, shape [C]. */
  weight?: Tensor | null;
  /** Targets equal to this are skipped (no loss, no gradient, not counted in the mean). Default −100. */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NLLLossOptions {
  /** Mix the target with the uniform distribution: (1 − ε)·onehot + ε/C. Default 0. */
  labelSmoothing?: number;
}

interface ClassTarget { input: Tensor; target: Tensor; classDim: number; unbatched: boolean }

/** Validate input [N, C, ...] or [C] against int32 class indices [N, ...] or []. */
function classTarget(input: Tensor, target: Tensor, opts: NLLLossOptions, op: string): ClassTarget {
  checkFloatInput(input, op);
  if (input.ndim === 0) throw new Error(`${op}: input must have a class dim ([C], [N, C] or [N, C, d1, ...]), got a 0-d tensor`);
  const unbatched = input.ndim === 1;
  const expected = unbatched ? [] : [input.shape[0]!, ...input.shape.slice(2)];
  if (target.dtype !== 'int32') {
    throw new Error(`${op}: target must hold int32 class indices of shape ${fmt(expected)}` +
      (op === 'crossEntropy' ? ` or ${input.dtype} class probabilities of shape ${fmt(input.shape)}` : '') +
      `, got ${target.dtype} ${fmt(target.shape)}`);
  }
  if (!shapesEqual(target.shape, expected)) {
    throw new Error(`${op}: target ${fmt(target.shape)} does not match input ${fmt(input.shape)} (expected target ${fmt(expected)})`);
  }
  const C = input.shape[unbatched ? 0 : 1]!;
  const ignoreIndex = opts.ignoreIndex ?? -100;
  hostStep(() => noGrad(() => { // a check on values: again on every replay of a compiled step
    const bad = logicalAnd(ne(target, ignoreIndex), logicalOr(lt(target, 0), ge(target, C)));
    if (target.size && max(to(bad, 'int32')).item() > 0) {
      const v = dataSync(target)[argmax(to(bad, 'int32')).item()];
      throw new Error(`${op}: target ${v} is out of range for ${C} classes (expected 0 ≤ target < ${C}${ignoreIndex < 0 || ignoreIndex >= C ? ` or ignoreIndex ${ignoreIndex}` : ''})`);
    }
  }), [target.data]);
  if (opts.weight != null) {
    checkTensor(opts.weight, op, 'weight');
    if (opts.weight.ndim !== 1 || opts.weight.shape[0] !== C) throw new Error(`${op}: weight ${fmt(opts.weight.shape)} must have one entry per class ([${C}])`);
  }
  return unbatched
    ? { input: unsqueeze(input, 0), target: reshape(target, [1]), classDim: 1, unbatched }
    : { input, target, classDim: 1, unbatched };
}

/** Per-element loss weights w[target] (0 where ignored), same shape as target, input's dtype. */
function targetWeights(input: Tensor, target: Tensor, safe: Tensor, ignored: Tensor, weight: Tensor | null | undefined): Tensor {
  if (weight == null) return to(logicalNot(ignored), input.dtype);
  const w = reshape(indexSelect(to(weight, input.dtype), 0, flatten(safe)), target.shape);
  return where(ignored, 0, w);
}

/** Shared by nllLoss and crossEntropy: −w[t]·logp[t] reduced, plus the pieces label smoothing needs. */
function nll(logp: Tensor, target: Tensor, opts: NLLLossOptions, reduction: Reduction) {
  const ignored = eq(target, opts.ignoreIndex ?? -100);
  const safe = where(ignored, 0, target);
  const picked = squeeze(gather(logp, 1, unsqueeze(safe, 1)), 1);
  const wt = targetWeights(logp, target, safe, ignored, opts.weight);
  const loss = neg(mul(picked, wt));
  const value = reduction === 'mean' ? div(sum(loss), sum(wt)) : reduction === 'sum' ? sum(loss) : loss;
  return { value, ignored, wt };
}

/**
 * Negative log likelihood of log-probabilities `input` [N, C, ...] (or [C]) at int32 class indices
 * `target` [N, ...]: −w[t]·input[t]; the mean divides by the summed weights of non-ignored targets.
 */
export function nllLoss(input: Tensor, target: Tensor, opts: NLLLossOptions = {}): Tensor {
  checkTensor(input, 'nllLoss', 'input');
  checkTensor(target, 'nllLoss', 'target');
  const reduction = reductionOf(opts, 'nllLoss');
  const c = classTarget(input, target, opts, 'nllLoss');
  const { value } = nll(c.input, c.target, opts, reduction);
  return c.unbatched && reduction === 'none' ? reshape(value, []) : value;
}

/**
 * Cross entropy of logits `input` [N, C, ...] (or [C]) against int32 class indices [N, ...]
 * (or class probabilities of input's shape): logSoftmax then nllLoss, with `labelSmoothing`,
 * per-class `weight` and `ignoreIndex` exactly as PyTorch. Stable at logits of ±1000.
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  checkTensor(input, op, 'input');
  checkTensor(target, op, 'target');
  const reduction = reductionOf(opts, op);
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new Error(`${op}: labelSmoothing must be between 0 and 1, got ${eps}`);
  if (isFloat(target.dtype) && shapesEqual(target.shape, input.shape) && input.ndim >= 1) return crossEntropyProbs(input, target, opts, reduction, eps);
  const c = classTarget(input, target, opts, op);
  const C = c.input.shape[1]!;
  const logp = logSoftmax(c.input, 1);
  const { value: nllValue, ignored, wt } = nll(logp, c.target, opts, reduction);
  let out = nllValue;
  if (eps > 0) {
    // smoothing term: −Σ_c w_c·logp_c per element, 0 where ignored
    const wc = opts.weight != null ? reshape(to(opts.weight, logp.dtype), [1, C, ...c.input.shape.slice(2).map(() => 1)]) : null;
    const smooth = where(ignored, 0, neg(sum(wc ? mul(logp, wc) : logp, 1)));
    const reduced = reduction === 'mean' ? div(sum(smooth), sum(wt)) : reduction === 'sum' ? sum(smooth) : smooth;
    out = add(mul(nllValue, 1 - eps), mul(reduced, eps / C));
  }
  return c.unbatched && reduction === 'none' ? reshape(out, []) : out;
}

/** Cross entropy against class probabilities: −Σ_c w_c·y_c·logp_c; the mean divides by N·d1·…. */
function crossEntropyProbs(input: Tensor, target: Tensor, opts: CrossEntropyOptions, reduction: Reduction, eps: number): Tensor {
  const classDim = input.ndim === 1 ? 0 : 1;
  const C = input.shape[classDim]!;
  if (opts.weight != null && (opts.weight.ndim !== 1 || opts.weight.shape[0] !== C)) {
    throw new Error(`crossEntropy: weight ${fmt(opts.weight.shape)} must have one entry per class ([${C}])`);
  }
  const logp = logSoftmax(input, classDim);
  const y = eps > 0 ? add(mul(target, 1 - eps), eps / C) : target;
  const wShape = input.shape.map((d, i) => (i === classDim ? C : 1));
  const terms = opts.weight != null ? mul(mul(logp, y), reshape(to(opts.weight, input.dtype), wShape)) : mul(logp, y);
  const loss = neg(sum(terms, classDim));
  return reduction === 'mean' ? div(sum(loss), Math.max(1, input.size / C)) : reduction === 'sum' ? sum(loss) : loss;
}

/**
 * One-hot encoding of int32 class indices: shape [...t.shape, numClasses], int32
 * (numClasses −1: the largest index + 1). Convert with `.float()` for BCE or MSE targets.
 */
export function oneHot(t: Tensor, numClasses = -1): Tensor {
  checkTensor(t, 'oneHot', 'tensor');
  if (t.dtype !== 'int32') throw new Error(`oneHot: expected int32 class indices, got ${t.dtype} ${fmt(t.shape)}`);
  if (numClasses !== -1 && !(Number.isInteger(numClasses) && numClasses >= 0)) throw new Error(`oneHot: numClasses must be a non-negative integer or -1, got ${numClasses}`);
  const check = (n: number): void => {
    // one pass over the values rather than min and max ops: this runs again on every replay of a compiled step
    const v = t.isContiguous() ? t.data.subarray(t.offset, t.offset + t.size) : dataSync(t);
    let lo = v.length ? v[0]! : 0, hi = v.length ? v[0]! : -1;
    for (let i = 1; i < v.length; i++) { const c = v[i]!; if (c < lo) lo = c; else if (c > hi) hi = c; }
    if (lo < 0) throw new Error(`oneHot: class values must be non-negative, got ${lo}`);
    if (hi >= n) throw new Error(`oneHot: class value ${hi} is out of range for numClasses ${n}`);
  };
  // with numClasses given the values are only checked (again on every replay of a compiled step); with −1 they set the shape
  const n = numClasses === -1 ? (t.size ? max(t).item() + 1 : 0) : numClasses;
  if (numClasses === -1) check(n);
  else hostStep(() => check(n), [t.data]);
  const idx = unsqueeze(t, -1);
  return scatterAdd(zeros([...t.shape, n], { dtype: 'int32' }), -1, idx, expand(full([], 1, { dtype: 'int32' }), idx.shape));
}
