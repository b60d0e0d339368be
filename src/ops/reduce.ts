/** Reductions over all elements or chosen dims, each with its gradient. */
import { backend, type ReduceOp } from '../backend/backend.js';
import { record } from '../autograd/node.js';
import { type DType, isFloat } from '../tensor/dtype.js';
import { fmt, normDim, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { abs, add, div, eq, mul, exp, log, sub, where } from './elementwise.js';
import { expand, reshape, scatterAdd, detach, to } from './shape.js';
import { empty, uninitialized } from './util.js';

export type Dims = number | readonly number[] | null | undefined;

function normDims(x: Tensor, dim: Dims, op: string): number[] {
  if (dim == null) return x.shape.map((_, i) => i);
  const dims = (typeof dim === 'number' ? [dim] : [...dim]).map((d) => normDim(d, x.ndim, op));
  if (new Set(dims).size !== dims.length) throw new Error(`${op}: dims ${fmt(typeof dim === 'number' ? [dim] : dim)} name a dimension more than once`);
  return dims.sort((a, b) => a - b);
}

function keptShape(shape: readonly number[], dims: readonly number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

/** Run one kernel reduction over a single dim of contiguous x; result keeps the dim as size 1. */
function reduceDim(op: ReduceOp, x: Tensor, d: number, dtype: DType): Tensor {
  const xc = contiguousRaw(x);
  const outer = numel(x.shape.slice(0, d)), n = x.shape[d] ?? 1, inner = numel(x.shape.slice(d + 1));
  const out = uninitialized(keptShape(x.shape, [d]), dtype);
  if (n === 0 && op !== 'sum' && op !== 'prod') throw new Error(`${op}: cannot reduce over a zero-size dim ${d} of shape ${fmt(x.shape)}`);
  backend().reduce(op, xc.data, xc.offset, outer, n, inner, out.data);
  return out;
}

function contiguousRaw(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  const out = uninitialized(x.shape, x.dtype);
  backend().copy(x, out);
  return out;
}

/** Kernel-level reduction over several dims (no autograd). */
function reduceRaw(op: 'sum' | 'prod' | 'max' | 'min', x: Tensor, dims: readonly number[], keepdim: boolean, dtype: DType): Tensor {
  let r = x;
  if (x.ndim === 0) { r = empty([], dtype); backend().copy(x, r); }
  else if (dims.length === x.ndim && x.isContiguous()) {
    r = uninitialized(keptShape(x.shape, dims), dtype);
    backend().reduce(op, x.data, x.offset, 1, x.size, 1, r.data);
  } else {
    for (const d of dims) r = reduceDim(op, r, d, dtype);
  }
  return keepdim ? r : new Tensor(r.data, x.shape.filter((_, i) => !dims.includes(i)));
}

const sumType = (d: DType): DType => (isFloat(d) ? d : 'int32');

/** Σ over dims (all when omitted). */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = normDims(x, dim, 'sum');
  const y = reduceRaw('sum', x, dims, keepdim, sumType(x.dtype));
  // ∂Σx/∂x = 1: broadcast g back over the summed dims
  return record(y, 'SumBackward', [x], (g) => [expand(reshape(g, keptShape(x.shape, dims)), x.shape)]);
}

/** Mean over dims (all when omitted). */
export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  if (!isFloat(x.dtype)) throw new Error(`mean: input dtype should be floating point, got ${x.dtype}`);
  const dims = normDims(x, dim, 'mean');
  const n = dims.reduce((p, d) => p * x.shape[d]!, 1);
  return div(sum(x, dims, keepdim), n);
}

/** Product over dims (all when omitted). */
export function prod(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = normDims(x, dim, 'prod');
  const y = reduceRaw('prod', x, dims, keepdim, sumType(x.dtype));
  // ∂Πx/∂xᵢ = Π_{j≠i} xⱼ: Π/xᵢ where xᵢ ≠ 0; at a zero, the product of the others (0 if another zero)
  return record(y, 'ProdBackward', [x], (g) => {
    const kept = keptShape(x.shape, dims);
    const isZero = eq(x, 0);
    const others = where(isZero,
      where(eq(sum(where(isZero, 1, 0), dims, true), 1), prod(where(isZero, 1, x), dims, true), 0),
      div(reshape(y, kept), where(isZero, 1, x))); // safe denominator: no 0·∞ in double backward
    return [mul(expand(reshape(g, kept), x.shape), others)];
  });
}

/** Sum a broadcast gradient back to `shape` (the engine's one central reduction). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot reduce ${fmt(g.shape)} to ${fmt(shape)}`);
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const s = dims.length ? sum(g, dims, true) : g;
  return reshape(s, shape);
}

export interface ValuesIndices { values: Tensor; indices: Tensor }

function extreme(op: 'max' | 'min', x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (x.size === 0) throw new Error(`${op}: expected a non-empty tensor, got shape ${fmt(x.shape)}`);
  if (dim === undefined) {
    const y = reduceRaw(op, x, x.shape.map((_, i) => i), false, x.dtype);
    // the gradient is shared evenly among the elements equal to the extreme
    return record(y, op === 'max' ? 'MaxBackward' : 'MinBackward', [x], (g) => {
      const mask = to(eq(x, y), x.dtype);
      return [mul(div(mask, sum(mask)), g)];
    });
  }
  const d = normDim(dim, x.ndim, op);
  const xc = x.ndim === 0 ? reshape(x, [1]) : x;
  const values = reduceDim(op, xc, x.ndim === 0 ? 0 : d, x.dtype);
  const indices = reduceDim(op === 'max' ? 'argmax' : 'argmin', xc, x.ndim === 0 ? 0 : d, 'int32');
  const shape = x.ndim === 0 ? x.shape : keepdim ? keptShape(x.shape, [d]) : x.shape.filter((_, i) => i !== d);
  const v = new Tensor(values.data, shape), idx = new Tensor(indices.data, shape);
  // gradient flows to the selected index only
  record(v, op === 'max' ? 'MaxBackward' : 'MinBackward', [x], (g) =>
    [scatterAdd(zerosOf(x), d, new Tensor(indices.data, keptShape(x.shape, [d])), reshape(g, keptShape(x.shape, [d])))]);
  return { values: v, indices: idx };
}

const zerosOf = (x: Tensor): Tensor => empty(x.shape, x.dtype);

/** max over everything, or `{ values, indices }` along dim (as torch.max). */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return extreme('max', x, dim, keepdim);
}

export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return extreme('min', x, dim, keepdim);
}

function argExtreme(op: 'argmax' | 'argmin', x: Tensor, dim?: number, keepdim = false): Tensor {
  if (x.size === 0) throw new Error(`${op}: expected a non-empty tensor, got shape ${fmt(x.shape)}`);
  if (dim === undefined) {
    const flat = contiguousRaw(x);
    const out = empty(keepdim ? x.shape.map(() => 1) : [], 'int32');
    backend().reduce(op, flat.data, flat.offset, 1, x.size, 1, out.data);
    return out;
  }
  const d = normDim(dim, x.ndim, op);
  const r = reduceDim(op, x.ndim === 0 ? reshape(x, [1]) : x, x.ndim === 0 ? 0 : d, 'int32');
  if (x.ndim === 0) return new Tensor(r.data, x.shape);
  return keepdim ? r : new Tensor(r.data, x.shape.filter((_, i) => i !== d));
}

/** Index of the maximum (flattened when dim is omitted), int32. */
export const argmax = (x: Tensor, dim?: number, keepdim = false): Tensor => argExtreme('argmax', x, dim, keepdim);
export const argmin = (x: Tensor, dim?: number, keepdim = false): Tensor => argExtreme('argmin', x, dim, keepdim);

/**
 * The max of x over dims (kept as size 1), outside the graph, with infinite maxima replaced by 0:
 * subtracting it makes exp(x − m) safe for any finite logits (all −∞ or +∞ rows are shifted by 0).
 */
export function stableShift(x: Tensor, dims: readonly number[]): Tensor {
  let m = detach(x);
  for (const d of dims) m = reduceDim('max', m, d, x.dtype);
  return where(eq(abs(m), Infinity), 0, m);
}

/** log Σ exp(x) along dim, stable for any finite logits (the max is subtracted first). */
export function logsumexp(x: Tensor, dim: Dims, keepdim = false): Tensor {
  const dims = normDims(x, dim, 'logsumexp');
  const m = stableShift(x, dims); // a constant: the result does not depend on it, so no gradient flows there
  const s = log(sum(exp(sub(x, m)), dims, true));
  const out = add(s, m);
  return keepdim ? out : reshape(out, x.shape.filter((_, i) => !dims.includes(i)));
}

/** Variance over dims with Bessel's correction by default (torch.var). */
export function variance(x: Tensor, dim?: Dims, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
  const dims = normDims(x, dim, 'var');
  const n = dims.reduce((p, d) => p * x.shape[d]!, 1);
  const dev = sub(x, mean(x, dims, true));
  return div(sum(mul(dev, dev), dims, opts.keepdim ?? false), Math.max(0, n - (opts.correction ?? 1)));
}
