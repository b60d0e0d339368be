/** Element types and their storage, with PyTorch's promotion rules for the mixes that occur. */
import { traceHooks } from './trace.js';

export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

/** Zero-filled storage (while a compile trace records, its plan's: see src/tensor/trace.ts). */
export function allocate(dtype: DType, size: number): TypedArray {
  return traceHooks()?.allocate(dtype, size) ?? zeroed(dtype, size);
}

/** Fresh zero-filled storage of a plain TypedArray. */
export function zeroed(dtype: DType, size: number): TypedArray {
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
 * Kernel outputs of up to 256 KiB share an ArrayBuffer with the next outputs of the same byte size: one
 * buffer per SLAB_COUNT of them. A fresh ArrayBuffer costs about 2 µs in V8 whatever its size (more while the
 * heap is young), a view on an existing one 0.05 µs, and a training step makes a few dozen such outputs. Past
 * 128 KiB, malloc also hands each fresh buffer memory that the kernel zeroes page by page on first write: a
 * 200 KB MNIST batch took 6–45 µs to allocate alone, 6–13 µs from a slab. The price is granularity: a buffer
 * is freed when all of its views are garbage, so a tensor kept alive holds at most SLAB_COUNT times its own size
 * (Node's own Buffer pool makes the same trade for small buffers).
 */
const SLAB_COUNT = 8;
const SLAB_MAX_BYTES = 256 * 1024;
const slabs = new Map<number, { buffer: ArrayBuffer; used: number }>();

function slabBytes(bytes: number): [ArrayBuffer, number] {
  let slab = slabs.get(bytes);
  if (!slab || slab.used === SLAB_COUNT) {
    slab = { buffer: NodeBuffer ? NodeBuffer.allocUnsafeSlow(bytes * SLAB_COUNT).buffer : new ArrayBuffer(bytes * SLAB_COUNT), used: 0 };
    slabs.set(bytes, slab);
  }
  return [slab.buffer, bytes * slab.used++];
}

/**
 * Storage with unspecified contents, for kernel outputs that are written entirely: mid-size arrays come from the
 * shared slabs above, large ones from Node's allocUnsafeSlow (no zero fill), tiny ones from allocate (V8 keeps
 * arrays of up to 64 bytes on its heap).
 */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  const bytes = size * BYTES[dtype];
  if (bytes <= 64 || traceHooks()) return allocate(dtype, size); // a plan's storage: see allocate
  let buf: ArrayBuffer, offset = 0;
  if (bytes <= SLAB_MAX_BYTES) [buf, offset] = slabBytes(bytes % 8 === 0 ? bytes : bytes + 8 - (bytes % 8));
  else if (NodeBuffer) buf = NodeBuffer.allocUnsafeSlow(bytes).buffer; // a fresh ArrayBuffer of exactly `bytes` bytes
  else return allocate(dtype, size);
  switch (dtype) {
    case 'float32': return new Float32Array(buf, offset, size);
    case 'float64': return new Float64Array(buf, offset, size);
    case 'int32': return new Int32Array(buf, offset, size);
    case 'bool': return new Uint8Array(buf, offset, size);
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
