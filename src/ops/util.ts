/** Helpers every op file shares: allocation, scalar operands, broadcast views for kernels. */
import { type View, backend } from '../backend/backend.js';
import { type DType, allocate, allocateUninitialized, promote, promoteScalar } from '../tensor/dtype.js';
import { type Shape, broadcastShapes, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

export type Scalar = number | boolean;
export type TensorLike = Tensor | Scalar;

/** A fresh contiguous tensor (zero-filled). */
export function empty(shape: Shape, dtype: DType): Tensor {
  return new Tensor(allocate(dtype, numel(shape)), shape);
}

/** A fresh contiguous tensor whose contents are unspecified: only for kernel outputs written entirely. */
export function uninitialized(shape: Shape, dtype: DType): Tensor {
  return new Tensor(allocateUninitialized(dtype, numel(shape)), shape);
}

/** A 0-d tensor holding a scalar operand in the op's dtype. */
export function scalarTensor(v: Scalar, dtype: DType): Tensor {
  const t = empty([], dtype);
  t.data[0] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  return t;
}

/** Result dtype of a binary op (torch.result_type). */
export function resultType(a: TensorLike, b: TensorLike): DType {
  if (a instanceof Tensor && b instanceof Tensor) {
    // a 0-d tensor, like a Python scalar, does not widen a dimensioned tensor of the same category
    if ((a.ndim === 0) !== (b.ndim === 0)) {
      const [dimmed, zeroDim] = a.ndim === 0 ? [b, a] : [a, b];
      return CATEGORY[zeroDim.dtype] > CATEGORY[dimmed.dtype] ? zeroDim.dtype : dimmed.dtype;
    }
    return promote(a.dtype, b.dtype);
  }
  if (a instanceof Tensor) return promoteScalar(a.dtype, b as Scalar);
  if (b instanceof Tensor) return promoteScalar(b.dtype, a);
  return typeof a === 'number' && !Number.isInteger(a) || typeof b === 'number' && !Number.isInteger(b) ? 'float32' : 'float32';
}

const CATEGORY: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 2 };

/**
 * An operand as a tensor for a kernel computing in `dtype`: numbers become 0-d tensors of that dtype, and so
 * does a 0-d tensor of another dtype (as in PyTorch, a float64 0-d tensor times a float32 tensor computes in float32).
 */
export function asTensor(x: TensorLike, dtype: DType): Tensor {
  if (!(x instanceof Tensor)) return scalarTensor(x, dtype);
  if (x.ndim !== 0 || x.dtype === dtype) return x;
  const t = empty([], dtype);
  backend().copy(x, t); // a kernel (converting the dtype), not a read in JavaScript, so compile can replay it
  return t;
}

/** A kernel view of t broadcast to `shape` (stride 0 along new and size-1 dims). */
export function broadcastView(t: Tensor, shape: Shape): View {
  if (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
  const strides = new Array<number>(shape.length).fill(0);
  const lead = shape.length - t.shape.length;
  for (let i = 0; i < t.shape.length; i++) strides[lead + i] = t.shape[i] === 1 ? 0 : t.strides[i]!;
  return { data: t.data, shape, strides, offset: t.offset };
}

export function broadcast2(a: Tensor, b: Tensor, op: string): number[] {
  return broadcastShapes(a.shape, b.shape, op);
}
