/** Views and copies that change shape: reshape, permute, expand, slicing, cat/stack, gather. */
import { backend, type View } from '../backend/backend.js';
import { bumpVersion, record } from '../autograd/node.js';
import { type DType, type TypedArray, isFloat, promote } from '../tensor/dtype.js';
import { type Shape, broadcastShapes, checkShape, contiguousStrides, fmt, normDim, numel, shapesEqual } from '../tensor/shape.js';
import { isGradEnabled as isGradEnabledNow } from '../autograd/grad-mode.js';
import { Tensor } from '../tensor/tensor.js';
import { ne } from './elementwise.js';
import { broadcastView, empty, uninitialized } from './util.js';
import { hostStep } from '../tensor/trace.js';

const viewOf = (x: Tensor, shape: Shape, strides: Shape, offset = x.offset): Tensor => new Tensor(x.data, shape, strides, offset);

function copyRaw(x: Tensor, dtype: DType = x.dtype): Tensor {
  const out = uninitialized(x.shape, dtype);
  backend().copy(x, out);
  return out;
}

/** A tensor sharing storage with x, cut off from the graph. */
export function detach(x: Tensor): Tensor {
  return viewOf(x, x.shape, x.strides);
}

/** x itself when already contiguous, else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return record(copyRaw(x), 'ContiguousBackward', [x], (g) => [g]); // identity
}

/** A copy that owns its storage. */
export function clone(x: Tensor): Tensor {
  return record(copyRaw(x), 'CloneBackward', [x], (g) => [g]); // identity
}

/** Convert to another dtype (a copy; the same tensor when the dtype already matches). */
export function to(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  if (dtype === 'bool') return ne(x, 0);
  const y = copyRaw(x, dtype);
  return isFloat(dtype) ? record(y, 'ToCopyBackward', [x], (g) => [to(g, x.dtype)]) : y; // identity, cast back
}

function inferShape(x: Tensor, shape: readonly number[], op: string): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free !== out.lastIndexOf(-1)) throw new Error(`${op}: only one dimension can be inferred (-1) in ${fmt(shape)}`);
  if (free >= 0) {
    const rest = numel(out.filter((_, i) => i !== free));
    if (rest === 0 || x.size % rest !== 0) throw new Error(`${op}: shape ${fmt(shape)} is invalid for input of size ${x.size} (shape ${fmt(x.shape)})`);
    out[free] = x.size / rest;
  }
  checkShape(out, op);
  if (numel(out) !== x.size) throw new Error(`${op}: shape ${fmt(shape)} is invalid for input of size ${x.size} (shape ${fmt(x.shape)})`);
  return out;
}

/** Same data, new shape: a view when x is contiguous, else a copy. One dim may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape(x, shape, 'reshape');
  if (shapesEqual(s, x.shape)) return x;
  const base = x.isContiguous() ? x : contiguous(x);
  return record(viewOf(base, s, contiguousStrides(s)), 'ReshapeBackward', [base], (g) => [reshape(g, base.shape)]); // identity on data
}

/** reshape that never copies: throws on a non-contiguous input (torch.view). */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  if (!x.isContiguous()) throw new Error(`view: input of shape ${fmt(x.shape)} is not contiguous; use reshape() or contiguous() first`);
  return reshape(x, shape);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim(startDim, x.ndim, 'flatten'), e = normDim(endDim, x.ndim, 'flatten');
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? x.shape.map((_, i) => i) : (typeof dim === 'number' ? [dim] : dim).map((d) => normDim(d, x.ndim, 'squeeze'));
  const keep = x.shape.map((d, i) => !(d === 1 && dims.includes(i)));
  const y = viewOf(x, x.shape.filter((_, i) => keep[i]), x.strides.filter((_, i) => keep[i]));
  return record(y, 'SqueezeBackward', [x], (g) => [reshape(g, x.shape)]); // identity on data
}

/** A dim for a new axis of a tensor with ndim dims: -(ndim+1)..ndim. */
function normNewDim(dim: number, ndim: number, op: string): number {
  if (!Number.isInteger(dim) || dim < -ndim - 1 || dim > ndim) {
    throw new Error(`${op}: dim ${dim} is out of range for inserting a dimension into a tensor of ${ndim} dimension${ndim === 1 ? '' : 's'} (expected ${-ndim - 1}..${ndim})`);
  }
  return dim < 0 ? dim + ndim + 1 : dim;
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normNewDim(dim, x.ndim, 'unsqueeze');
  const shape = [...x.shape], strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d]! * x.shape[d]! : 1);
  return record(viewOf(x, shape, strides), 'UnsqueezeBackward', [x], (g) => [reshape(g, x.shape)]); // identity on data
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) throw new Error(`permute: dims ${fmt(dims)} do not match a tensor of ${x.ndim} dimensions`);
  const d = dims.map((k) => normDim(k, x.ndim, 'permute'));
  if (new Set(d).size !== d.length) throw new Error(`permute: dims ${fmt(dims)} repeat a dimension`);
  const inv = new Array<number>(d.length);
  d.forEach((k, i) => { inv[k] = i; });
  const y = viewOf(x, d.map((k) => x.shape[k]!), d.map((k) => x.strides[k]!));
  return record(y, 'PermuteBackward', [x], (g) => [permute(g, inv)]); // inverse permutation
}

export function transpose(x: Tensor, dim0 = 0, dim1 = 1): Tensor {
  if (x.ndim < 2 && dim0 === 0 && dim1 === 1) return x;
  const a = normDim(dim0, x.ndim, 'transpose'), b = normDim(dim1, x.ndim, 'transpose');
  const dims = x.shape.map((_, i) => i);
  dims[a] = b; dims[b] = a;
  return permute(x, dims);
}

/** Broadcast to a larger shape without copying (-1 keeps a dim). The engine sums the gradient back. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(shape, x.shape)) return x;
  const lead = shape.length - x.ndim;
  if (lead < 0) throw new Error(`expand: the target shape ${fmt(shape)} has fewer dimensions than the input ${fmt(x.shape)}`);
  const outShape: number[] = [], strides: number[] = [];
  shape.forEach((d, i) => {
    const src = i >= lead ? x.shape[i - lead]! : 1;
    const target = d === -1 && i >= lead ? src : d;
    if (!Number.isInteger(target) || target < 0) throw new Error(`expand: invalid size ${d} at dim ${i} of ${fmt(shape)} (-1 keeps an existing dim, new leading dims need a size)`);
    if (src !== target && src !== 1) throw new Error(`expand: input ${fmt(x.shape)} cannot be expanded to ${fmt(shape)}`);
    outShape.push(target);
    strides.push(i >= lead && src === target ? x.strides[i - lead]! : 0);
  });
  return record(viewOf(x, outShape, strides), 'ExpandBackward', [x], (g) => [g]); // Σ over broadcast dims, done by the engine
}

export function expandAs(x: Tensor, other: Tensor): Tensor {
  return expand(x, other.shape);
}

// ---------------------------------------------------------------- slicing

/** x[start:end:step] along dim, as a view (negative indices count from the end, as in Python). */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normDim(dim, x.ndim, 'slice');
  const size = x.shape[d]!;
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = clampIdx(start), e = Math.max(s, clampIdx(end ?? size));
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape], strides = [...x.strides];
  shape[d] = len;
  strides[d] = x.strides[d]! * step;
  const y = viewOf(x, shape, strides, x.offset + s * x.strides[d]!);
  return record(y, 'SliceBackward', [x], (g) => [sliceBackward(g, x.shape, d, s, e, step)]); // scatter into zeros
}

/** zeros(shape) with g written into the slice [start:end:step] of dim; its gradient is the slice again. */
function sliceBackward(g: Tensor, shape: readonly number[], d: number, s: number, e: number, step: number): Tensor {
  const out = empty(shape, g.dtype);
  const strides = contiguousStrides(shape);
  const dst: View = { data: out.data, shape: g.shape, strides: strides.map((st, i) => (i === d ? st * step : st)), offset: s * strides[d]! };
  backend().copy(g, dst);
  return record(out, 'SliceBackwardBackward', [g], (gg) => [slice(gg, d, s, e, step)]);
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, x.ndim, 'narrow');
  const s = start < 0 ? start + x.shape[d]! : start;
  if (s < 0 || length < 0 || s + length > x.shape[d]!) {
    throw new Error(`narrow: start ${start} and length ${length} exceed dim ${dim} of size ${x.shape[d]} (shape ${fmt(x.shape)})`);
  }
  return slice(x, d, s, s + length);
}

/** x[..., index, ...] along dim: one dimension fewer. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim(dim, x.ndim, 'select');
  const size = x.shape[d]!;
  if (!Number.isInteger(index) || index < -size || index >= size) throw new Error(`select: index ${index} is out of range for dim ${dim} of size ${size}`);
  const i = index < 0 ? index + size : index;
  return squeeze(slice(x, d, i, i + 1), d);
}

// ---------------------------------------------------------------- joining

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!tensors.length) throw new Error('cat: expected a non-empty list of tensors');
  const first = tensors[0]!;
  tensors.forEach((t, i) => {
    if (t.ndim === 0) throw new Error(`cat: tensor ${i} is zero-dimensional and cannot be concatenated; use stack or unsqueeze it`);
  });
  const d = normDim(dim, first.ndim, 'cat');
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((s, k) => k !== d && s !== first.shape[k])) {
      throw new Error(`cat: tensor ${i} has shape ${fmt(t.shape)}, which does not match ${fmt(first.shape)} outside dim ${d}`);
    }
  });
  const dtype = tensors.reduce<DType>((acc, t) => promote(acc, t.dtype), first.dtype);
  const shape = [...first.shape];
  shape[d] = tensors.reduce((s, t) => s + t.shape[d]!, 0);
  const out = uninitialized(shape, dtype);
  const strides = contiguousStrides(shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of tensors) {
    starts.push(at);
    backend().copy(t, { data: out.data, shape: t.shape, strides, offset: at * strides[d]! });
    at += t.shape[d]!;
  }
  // ∂cat = the matching slice of g for each input
  return record(out, 'CatBackward', tensors, (g) => tensors.map((t, i) => slice(g, d, starts[i]!, starts[i]! + t.shape[d]!)));
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!tensors.length) throw new Error('stack: expected a non-empty list of tensors');
  const first = tensors[0]!;
  tensors.forEach((t, i) => {
    if (!shapesEqual(t.shape, first.shape)) throw new Error(`stack: tensor ${i} has shape ${fmt(t.shape)}, expected ${fmt(first.shape)} like tensor 0`);
  });
  const d = normNewDim(dim, first.ndim, 'stack');
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

// ---------------------------------------------------------------- indexing

function checkIndex(index: Tensor, op: string): void {
  if (index.dtype !== 'int32') throw new Error(`${op}: index must be an int32 tensor, got ${index.dtype}`);
}

/** Every index value in [-size, size), checked here once so that no backend kernel reads out of bounds. */
function checkIndexRange(index: Tensor, size: number, op: string, dim: number, shape: readonly number[]): void {
  hostStep(() => checkIndexValues(index, size, op, dim, shape), [index.data]); // again on every replay of a compiled step
}

function checkIndexValues(index: Tensor, size: number, op: string, dim: number, shape: readonly number[]): void {
  const flat = index.isContiguous() ? index.data.subarray(index.offset, index.offset + index.size) : dataSyncRaw(index);
  for (let i = 0; i < flat.length; i++) {
    const k = flat[i]!;
    if (k < -size || k >= size) throw new Error(`${op}: index ${k} is out of range for dim ${dim} of size ${size} (input shape ${fmt(shape)})`);
  }
}

function dataSyncRaw(x: Tensor): TypedArray {
  return copyRaw(x).data;
}

/** out[i][j] = x[i][index[i][j]] (dim 1), as torch.gather. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex(index, 'gather');
  const d = normDim(dim, x.ndim, 'gather');
  if (index.ndim !== x.ndim || index.shape.some((s, k) => k !== d && s > x.shape[k]!)) {
    throw new Error(`gather: index ${fmt(index.shape)} does not fit input ${fmt(x.shape)} along dims other than ${d}`);
  }
  checkIndexRange(index, x.shape[d]!, 'gather', d, x.shape);
  return gatherChecked(x, d, index);
}

/** gather once the index is known to fit. */
function gatherChecked(x: Tensor, d: number, index: Tensor): Tensor {
  const out = uninitialized(index.shape, x.dtype);
  backend().gather(x, d, index, out.data);
  return record(out, 'GatherBackward', [x], (g) => [scatterAdd(empty(x.shape, g.dtype), d, index, g)]); // scatter-add g back
}

/** base with src added at index positions along dim (out-of-place torch.scatter_add). */
export function scatterAdd(base: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndex(index, 'scatterAdd');
  const d = normDim(dim, base.ndim, 'scatterAdd');
  if (!shapesEqual(index.shape, src.shape)) throw new Error(`scatterAdd: index ${fmt(index.shape)} and src ${fmt(src.shape)} must have the same shape`);
  if (index.ndim !== base.ndim || index.shape.some((s, k) => k !== d && s > base.shape[k]!)) {
    throw new Error(`scatterAdd: index ${fmt(index.shape)} does not fit input ${fmt(base.shape)} along dims other than ${d}`);
  }
  checkIndexRange(index, base.shape[d]!, 'scatterAdd', d, base.shape);
  const out = copyRaw(base);
  backend().scatterAdd(out.data, out.shape, d, index, src);
  // ∂/∂base = g; ∂/∂src = g gathered at index
  return record(out, 'ScatterAddBackward', [base, src], (g) => [g, gather(g, d, index)]);
}

/** Rows (or slices along dim) picked by a 1-D int32 index, as torch.index_select. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex(index, 'indexSelect');
  if (index.ndim !== 1) throw new Error(`indexSelect: index must be 1-D, got shape ${fmt(index.shape)}`);
  const d = normDim(dim, x.ndim, 'indexSelect');
  checkIndexRange(index, x.shape[d]!, 'indexSelect', d, x.shape);
  const outShape = x.shape.map((s, k) => (k === d ? index.shape[0]! : s));
  const idxShape = x.shape.map((_, k) => (k === d ? index.shape[0]! : 1));
  return gatherChecked(x, d, expand(reshape(index, idxShape), outShape));
}

// ---------------------------------------------------------------- in place (optimizers, initialisers)

function checkInPlace(x: Tensor, op: string): void {
  if (x.requiresGrad && x.isLeaf && isGradEnabledNow()) {
    throw new Error(`${op}: a leaf tensor that requires grad is used in an in-place operation; wrap it in noGrad()`);
  }
}

/** Write src (broadcast to x's shape, converted to x's dtype) into x's storage; returns x. */
export function copy_(x: Tensor, src: Tensor): Tensor {
  checkInPlace(x, 'copy_');
  const shape = broadcastShapes(x.shape, src.shape, 'copy_');
  if (!shapesEqual(shape, x.shape)) throw new Error(`copy_: source ${fmt(src.shape)} cannot be broadcast to destination ${fmt(x.shape)}`);
  backend().copy(broadcastView(src, x.shape), x);
  bumpVersion(x);
  return x;
}

/** Fill x's storage with a value; returns x. */
export function fill_(x: Tensor, value: number): Tensor {
  checkInPlace(x, 'fill_');
  const v = empty([], x.dtype);
  v.data[0] = value;
  backend().copy(broadcastView(v, x.shape), x);
  bumpVersion(x);
  return x;
}
