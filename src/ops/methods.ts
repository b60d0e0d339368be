/** Tensor methods: every op as a method too (x.add(y)), attached to the prototype in one place. */
import { backward, retainGrad, type BackwardOptions } from '../autograd/engine.js';
import type { DType, TypedArray } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import * as E from './elementwise.js';
import { dataSync, format, toArray, type Nested } from './format.js';
import { matmul } from './matmul.js';
import * as R from './reduce.js';
import * as S from './shape.js';
import { logSoftmax, softmax } from './softmax.js';
import type { TensorLike } from './util.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(other: TensorLike): Tensor; sub(other: TensorLike): Tensor; mul(other: TensorLike): Tensor; div(other: TensorLike): Tensor;
    pow(exponent: TensorLike): Tensor; maximum(other: TensorLike): Tensor; minimum(other: TensorLike): Tensor;
    neg(): Tensor; exp(): Tensor; log(): Tensor; sqrt(): Tensor; abs(): Tensor; sigmoid(): Tensor; tanh(): Tensor; relu(): Tensor;
    reciprocal(): Tensor; sin(): Tensor; cos(): Tensor; erf(): Tensor; sign(): Tensor; floor(): Tensor; ceil(): Tensor; round(): Tensor;
    square(): Tensor;
    clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor;
    /** where(cond, this, other), as torch's x.where(cond, y). */
    where(cond: Tensor, other: TensorLike): Tensor;
    eq(other: TensorLike): Tensor; ne(other: TensorLike): Tensor; lt(other: TensorLike): Tensor;
    le(other: TensorLike): Tensor; gt(other: TensorLike): Tensor; ge(other: TensorLike): Tensor;
    logicalAnd(other: TensorLike): Tensor; logicalOr(other: TensorLike): Tensor; logicalNot(): Tensor; isnan(): Tensor;
    matmul(other: Tensor): Tensor;
    sum(dim?: R.Dims, keepdim?: boolean): Tensor; mean(dim?: R.Dims, keepdim?: boolean): Tensor; prod(dim?: R.Dims, keepdim?: boolean): Tensor;
    max(): Tensor; max(dim: number, keepdim?: boolean): R.ValuesIndices;
    min(): Tensor; min(dim: number, keepdim?: boolean): R.ValuesIndices;
    argmax(dim?: number, keepdim?: boolean): Tensor; argmin(dim?: number, keepdim?: boolean): Tensor;
    logsumexp(dim: R.Dims, keepdim?: boolean): Tensor;
    var(dim?: R.Dims, opts?: { correction?: number; keepdim?: boolean }): Tensor;
    std(dim?: R.Dims, opts?: { correction?: number; keepdim?: boolean }): Tensor;
    softmax(dim?: number): Tensor; logSoftmax(dim?: number): Tensor;
    reshape(...shape: number[] | [readonly number[]]): Tensor; view(...shape: number[] | [readonly number[]]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    squeeze(dim?: number | readonly number[]): Tensor; unsqueeze(dim: number): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor; permute(...dims: number[] | [readonly number[]]): Tensor;
    expand(...shape: number[] | [readonly number[]]): Tensor; expandAs(other: Tensor): Tensor;
    /** Transpose of a 2-D tensor (torch's .T). */
    readonly T: Tensor;
    /** Transpose of the last two dims (torch's .mT). */
    readonly mT: Tensor;
    contiguous(): Tensor; detach(): Tensor; clone(): Tensor;
    to(dtype: DType): Tensor; float(): Tensor; double(): Tensor; int(): Tensor; bool(): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor; select(dim: number, index: number): Tensor;
    gather(dim: number, index: Tensor): Tensor; indexSelect(dim: number, index: Tensor): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    dataSync(): TypedArray; toArray(): Nested; toString(): string;
    backward(gradient?: Tensor, opts?: BackwardOptions): void;
    retainGrad(): Tensor;
    /** In place: write src (broadcast) into this tensor's storage. */
    copy_(src: Tensor): Tensor;
    fill_(value: number): Tensor;
    zero_(): Tensor;
  }
}

const shapeArgs = (args: (number | readonly number[])[]): number[] =>
  args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const methods: Record<string, (this: Tensor, ...args: any[]) => unknown> = {
  add(o: TensorLike) { return E.add(this, o); },
  sub(o: TensorLike) { return E.sub(this, o); },
  mul(o: TensorLike) { return E.mul(this, o); },
  div(o: TensorLike) { return E.div(this, o); },
  pow(o: TensorLike) { return E.pow(this, o); },
  maximum(o: TensorLike) { return E.maximum(this, o); },
  minimum(o: TensorLike) { return E.minimum(this, o); },
  neg() { return E.neg(this); },
  exp() { return E.exp(this); },
  log() { return E.log(this); },
  sqrt() { return E.sqrt(this); },
  abs() { return E.abs(this); },
  sigmoid() { return E.sigmoid(this); },
  tanh() { return E.tanh(this); },
  relu() { return E.relu(this); },
  reciprocal() { return E.reciprocal(this); },
  sin() { return E.sin(this); },
  cos() { return E.cos(this); },
  erf() { return E.erf(this); },
  sign() { return E.sign(this); },
  floor() { return E.floor(this); },
  ceil() { return E.ceil(this); },
  round() { return E.round(this); },
  square() { return E.mul(this, this); },
  clamp(lo?: TensorLike | null, hi?: TensorLike | null) { return E.clamp(this, lo, hi); },
  where(cond: Tensor, other: TensorLike) { return E.where(cond, this, other); },
  eq(o: TensorLike) { return E.eq(this, o); },
  ne(o: TensorLike) { return E.ne(this, o); },
  lt(o: TensorLike) { return E.lt(this, o); },
  le(o: TensorLike) { return E.le(this, o); },
  gt(o: TensorLike) { return E.gt(this, o); },
  ge(o: TensorLike) { return E.ge(this, o); },
  logicalAnd(o: TensorLike) { return E.logicalAnd(this, o); },
  logicalOr(o: TensorLike) { return E.logicalOr(this, o); },
  logicalNot() { return E.logicalNot(this); },
  isnan() { return E.isnan(this); },
  matmul(o: Tensor) { return matmul(this, o); },
  sum(dim?: R.Dims, keepdim?: boolean) { return R.sum(this, dim, keepdim); },
  mean(dim?: R.Dims, keepdim?: boolean) { return R.mean(this, dim, keepdim); },
  prod(dim?: R.Dims, keepdim?: boolean) { return R.prod(this, dim, keepdim); },
  max(dim?: number, keepdim?: boolean) { return dim === undefined ? R.max(this) : R.max(this, dim, keepdim); },
  min(dim?: number, keepdim?: boolean) { return dim === undefined ? R.min(this) : R.min(this, dim, keepdim); },
  argmax(dim?: number, keepdim?: boolean) { return R.argmax(this, dim, keepdim); },
  argmin(dim?: number, keepdim?: boolean) { return R.argmin(this, dim, keepdim); },
  logsumexp(dim: R.Dims, keepdim?: boolean) { return R.logsumexp(this, dim, keepdim); },
  var(dim?: R.Dims, opts?: { correction?: number; keepdim?: boolean }) { return R.variance(this, dim, opts); },
  std(dim?: R.Dims, opts?: { correction?: number; keepdim?: boolean }) { return E.sqrt(R.variance(this, dim, opts)); },
  softmax(dim?: number) { return softmax(this, dim); },
  logSoftmax(dim?: number) { return logSoftmax(this, dim); },
  reshape(...s: (number | readonly number[])[]) { return S.reshape(this, shapeArgs(s)); },
  view(...s: (number | readonly number[])[]) { return S.view(this, shapeArgs(s)); },
  flatten(a?: number, b?: number) { return S.flatten(this, a, b); },
  squeeze(dim?: number | readonly number[]) { return S.squeeze(this, dim); },
  unsqueeze(dim: number) { return S.unsqueeze(this, dim); },
  transpose(a?: number, b?: number) { return S.transpose(this, a, b); },
  permute(...d: (number | readonly number[])[]) { return S.permute(this, shapeArgs(d)); },
  expand(...s: (number | readonly number[])[]) { return S.expand(this, shapeArgs(s)); },
  expandAs(o: Tensor) { return S.expandAs(this, o); },
  contiguous() { return S.contiguous(this); },
  detach() { return S.detach(this); },
  clone() { return S.clone(this); },
  to(d: DType) { return S.to(this, d); },
  float() { return S.to(this, 'float32'); },
  double() { return S.to(this, 'float64'); },
  int() { return S.to(this, 'int32'); },
  bool() { return S.to(this, 'bool'); },
  slice(dim: number, start?: number, end?: number, step?: number) { return S.slice(this, dim, start, end, step); },
  narrow(dim: number, start: number, length: number) { return S.narrow(this, dim, start, length); },
  select(dim: number, index: number) { return S.select(this, dim, index); },
  gather(dim: number, index: Tensor) { return S.gather(this, dim, index); },
  indexSelect(dim: number, index: Tensor) { return S.indexSelect(this, dim, index); },
  scatterAdd(dim: number, index: Tensor, src: Tensor) { return S.scatterAdd(this, dim, index, src); },
  dataSync() { return dataSync(this); },
  toArray() { return toArray(this); },
  toString(this: Tensor) { return format(this); },
  backward(gradient?: Tensor, opts?: BackwardOptions) { backward(this, gradient, opts); },
  retainGrad() { retainGrad(this); return this; },
  copy_(src: Tensor) { return S.copy_(this, src); },
  fill_(v: number) { return S.fill_(this, v); },
  zero_() { return S.fill_(this, 0); },
};

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true });
}
Object.defineProperty(Tensor.prototype, 'T', {
  get(this: Tensor) {
    if (this.ndim > 2) throw new Error(`T: expected a tensor of at most 2 dimensions, got ${this.ndim}; use mT or permute`);
    return S.transpose(this, 0, 1);
  },
});
Object.defineProperty(Tensor.prototype, 'mT', { get(this: Tensor) { return S.transpose(this, -2, -1); } });
// Node's util.inspect (console.log) prints tensors like PyTorch too
Object.defineProperty(Tensor.prototype, Symbol.for('nodejs.util.inspect.custom'), { value(this: Tensor) { return format(this); } });
