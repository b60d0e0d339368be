/**
 * The Tensor: a view (shape, strides, offset) over a garbage-collected TypedArray.
 * Ops attach their methods to the prototype from src/ops; this file holds only data and metadata.
 */
import { type DType, type TypedArray, dtypeOf, isFloat } from './dtype.js';
import { type Shape, contiguousStrides, fmt, numel } from './shape.js';
import { noteUnsupported } from './trace.js';

/** What the autograd engine records on a tensor that an op produced (see src/autograd/node.ts). */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly (Tensor | null)[];
}

let nextId = 1;

export class Tensor {
  /** Storage; several tensors (views) may share it. */
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** Unique id, stable for the tensor's life (used as a map key by the engine). */
  readonly id = nextId++;
  /** Whether gradients are tracked for this tensor. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** The node that produced this tensor, or null for leaves. */
  gradFn: GradFn | null = null;

  constructor(data: TypedArray, shape: Shape, strides?: Shape, offset = 0) {
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = dtypeOf(data);
  }

  get ndim(): number { return this.shape.length; }
  /** Number of elements. */
  get size(): number { return numel(this.shape); }
  numel(): number { return numel(this.shape); }
  dim(): number { return this.shape.length; }
  get isLeaf(): boolean { return this.gradFn === null; }
  get isFloatingPoint(): boolean { return isFloat(this.dtype); }

  /** True when elements are laid out row-major with no gaps (size-1 dims may have any stride). */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const d = this.shape[i]!;
      if (d !== 1 && this.strides[i] !== expected) return false;
      expected *= d;
    }
    return true;
  }

  /** The single value of a one-element tensor as a JS number. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: only one-element tensors can be converted to a number, got shape ${fmt(this.shape)}`);
    noteUnsupported('item()');
    return this.data[this.offset]!;
  }

  /** Mark this leaf as needing gradients (in place, returns this). */
  requiresGrad_(flag = true): this {
    if (flag && !isFloat(this.dtype)) throw new Error(`requiresGrad_: only floating-point tensors can require gradients, got ${this.dtype}`);
    if (!flag && this.gradFn) throw new Error('requiresGrad_: cannot turn off gradients of a non-leaf tensor; use detach()');
    this.requiresGrad = flag;
    return this;
  }
}
