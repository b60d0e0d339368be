/** Matrix products: 1-D, 2-D and batched with broadcast batch dims, transposed views read in place. */
import { backend } from '../backend/backend.js';
import { record } from '../autograd/node.js';
import { promote, isFloat } from '../tensor/dtype.js';
import { broadcastShapes, fmt, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { contiguous, expand, reshape, squeeze, transpose, unsqueeze, to } from './shape.js';
import { broadcastView, uninitialized } from './util.js';
import { sum } from './reduce.js';

/** How a kernel reads the last two dims of x: row-major, or a transposed row-major block. */
function layout(x: Tensor): { t: Tensor; trans: boolean; ld: number } {
  const n = x.ndim, rs = x.strides[n - 2]!, cs = x.strides[n - 1]!, rows = x.shape[n - 2]!, cols = x.shape[n - 1]!;
  const batchOk = n === 2 || isBatchContiguous(x);
  if (batchOk && (cs === 1 || cols === 1) && rs >= cols) return { t: x, trans: false, ld: Math.max(rs, cols, 1) };
  if (batchOk && (rs === 1 || rows === 1) && cs >= rows) return { t: x, trans: true, ld: Math.max(cs, rows, 1) };
  const c = contiguous(x);
  return { t: c, trans: false, ld: Math.max(cols, 1) };
}

/** Batch dims laid out densely over matrices of rows·cols elements. */
function isBatchContiguous(x: Tensor): boolean {
  const n = x.ndim;
  let expected = x.shape[n - 2]! * x.shape[n - 1]!;
  for (let i = n - 3; i >= 0; i--) {
    if (x.shape[i] !== 1 && x.strides[i] !== expected) return false;
    expected *= x.shape[i]!;
  }
  return true;
}

/** a @ b for a [..., M, K] and b [..., K, N] with equal batch dims (or b 2-D, shared by every batch). */
function mmRaw(a: Tensor, b: Tensor): Tensor {
  const M = a.shape[a.ndim - 2]!, K = a.shape[a.ndim - 1]!, N = b.shape[b.ndim - 1]!;
  const batchShape = a.shape.slice(0, -2), batch = numel(batchShape);
  const dtype = promote(a.dtype, b.dtype);
  const A = layout(a.dtype === dtype ? a : to(a, dtype)), B = layout(b.dtype === dtype ? b : to(b, dtype));
  const out = uninitialized([...batchShape, M, N], dtype); // every backend's gemm writes all of C (zeros when K = 0)
  backend().gemm({
    batch, M, N, K,
    a: A.t.data, aOffset: A.t.offset, lda: A.ld, transA: A.trans, aBatchStride: M * K,
    b: B.t.data, bOffset: B.t.offset, ldb: B.ld, transB: B.trans, bBatchStride: b.ndim === 2 ? 0 : K * N,
    c: out.data,
  });
  return out;
}

const mT = (x: Tensor): Tensor => transpose(x, -2, -1);

/** A 2-D column-major operand, such as the transposed weight in linear: its gradient is made in that layout. */
const colMajor = (x: Tensor): boolean =>
  x.ndim === 2 && x.shape[0]! > 1 && x.shape[1]! > 1 && x.strides[0] === 1 && x.strides[1] === x.shape[0];

/** The recorded product of two tensors with ≥ 2 dims whose batch dims already agree (or b is 2-D). */
function mm(a: Tensor, b: Tensor): Tensor {
  // ∂(AB) = (G Bᵀ, Aᵀ G); the engine sums batch-broadcast gradients back. A column-major operand gets
  // (B Gᵀ)ᵀ or (Gᵀ A)ᵀ instead, the same values in its own layout (as PyTorch does), so that the gradient
  // of a transposed leaf arrives contiguous and needs no strided copy
  return record(mmRaw(a, b), 'MmBackward', [a, b], (g) => [
    a.requiresGrad ? (colMajor(a) ? mT(matmul(b, mT(g))) : matmul(g, mT(b))) : null,
    b.requiresGrad ? (colMajor(b) ? mT(matmul(mT(g), a)) : matmul(mT(a), g)) : null,
  ]);
}

/** torch.matmul semantics: dot, matrix-vector, matrix-matrix and broadcast batched products. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new TypeError('matmul: both arguments must be Tensors');
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: both arguments need at least 1 dimension, got shapes ${fmt(a.shape)} and ${fmt(b.shape)}`);
  if (!isFloat(a.dtype) && !isFloat(b.dtype) && (a.dtype === 'bool' || b.dtype === 'bool')) throw new Error('matmul: bool tensors are not supported');
  const K1 = a.shape[a.ndim - 1]!, K2 = b.ndim === 1 ? b.shape[0]! : b.shape[b.ndim - 2]!;
  if (K1 !== K2) throw new Error(`matmul: shapes ${fmt(a.shape)} and ${fmt(b.shape)} cannot be multiplied (${K1} ≠ ${K2})`);
  if (a.ndim === 1 && b.ndim === 1) return reshape(mm(unsqueeze(a, 0), unsqueeze(b, 1)), []);
  if (a.ndim === 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.ndim === 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  if (a.ndim === 2 && b.ndim === 2) return mm(a, b);
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(ba, bb, 'matmul');
  } catch {
    throw new Error(`matmul: batch dimensions of shapes ${fmt(a.shape)} and ${fmt(b.shape)} cannot be broadcast together (${fmt(ba)} and ${fmt(bb)})`);
  }
  const ea = expand(a, [...batch, ...a.shape.slice(-2)]);
  if (b.ndim === 2) return mm(ea, b);
  const eb = expand(b, [...batch, ...b.shape.slice(-2)]);
  return mm(ea, eb);
}

/** 2-D product with a shape check in torch.mm's words. */
export function mmChecked(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2) throw new Error(`mm: expected 2-D tensors, got shapes ${fmt(a.shape)} and ${fmt(b.shape)}`);
  return matmul(a, b);
}

/**
 * y = x Wᵀ + b for a 2-D x [N, in], W [out, in] and b [out] of x's float dtype, as torch.addmm: one product,
 * the bias added in place into its fresh output (one tensor instead of two). nn.functional.linear checks the
 * shapes and calls it; other inputs take the composite matmul + add.
 */
export function addmmLinear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const out = mmRaw(x, mT(w));
  if (b) backend().binary('add', out, broadcastView(b, out.shape), out.data);
  // y = xWᵀ + b: ∂x = G W, ∂W = Gᵀ x, ∂b = Σₙ G
  return record(out, 'AddmmBackward', [x, w, b], (g) => [
    x.requiresGrad ? matmul(g, w) : null,
    w.requiresGrad ? matmul(mT(g), x) : null,
    b?.requiresGrad ? sum(g, 0) : null,
  ]);
}

