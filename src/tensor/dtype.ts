/** Element types and their storage, with PyTorch's promotion rules for the mixes that occur. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function allocate(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'int32': return new Int32Array(size);
    case 'bool': return new Uint8Array(size);
  }
}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

/** Node's Buffer when running in Node: allocUnsafeSlow skips the zero fill that dominates allocating mid-size arrays. */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(size: number): { buffer: ArrayBuffer } } }).Buffer;

/**
 * Storage with unspecified contents, for kernel outputs that are written entirely (about 4× cheaper than
 * allocate for a [64, 100] float32 in Node). Small arrays, and runtimes without Buffer, use allocate.
 */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  const bytes = size * BYTES[dtype];
  if (!NodeBuffer || bytes < 1024) return allocate(dtype, size);
  const buf = NodeBuffer.allocUnsafeSlow(bytes).buffer; // a fresh ArrayBuffer of exactly `bytes` bytes, offset 0
  switch (dtype) {
    case 'float32': return new Float32Array(buf, 0, size);
    case 'float64': return new Float64Array(buf, 0, size);
    case 'int32': return new Int32Array(buf, 0, size);
    case 'bool': return new Uint8Array(buf, 0, size);
  }
}

export function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64';

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Result dtype of a binary op between two tensors (torch.result_type for tensor/tensor). */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Result dtype of tensor (op) Python-style scalar: the scalar only lifts the category, never the width. */
export function promoteScalar(t: DType, s: number | boolean): DType {
  if (typeof s === 'boolean') return t;
  if (!Number.isInteger(s) && !isFloat(t)) return 'float32';
  if (t === 'bool') return Number.isInteger(s) ? 'int32' : 'float32';
  return t;
}
