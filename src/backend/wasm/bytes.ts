/**
 * Copies between a tensor's own JS array and the shared WebAssembly memory. V8 copies into or out of a
 * SharedArrayBuffer element by element (TypedArray.prototype.set keeps shared memory's no-tearing rule): 12 µs for
 * 313 KB on the 2-core test machine, against 3 µs between plain buffers. Node's Buffer.prototype.fill with a buffer
 * as its value is one memcpy in C++: 3 µs, shared or not. It costs about 0.15 µs a call, so it is used from 4 KiB
 * up, where it wins; smaller copies, copies between two shared (or two plain) buffers and runtimes without Node's
 * Buffer use `set`.
 */
import type { TypedArray } from '../../tensor/dtype.js';

/** Bytes from which fill's memcpy beats set into shared memory (set: 0.20 µs for 4 KiB, fill 0.15). */
export const FILL_MIN_BYTES = 4096;

type Fill = (this: Uint8Array, value: Uint8Array, offset: number, end: number) => Uint8Array;

/** Buffer.prototype.fill, when this runtime has it and it copies a same-length buffer value exactly (checked once). */
const fill: Fill | null = (() => {
  const f = (globalThis as { Buffer?: { prototype: { fill: Fill } } }).Buffer?.prototype.fill;
  if (typeof f !== 'function' || typeof SharedArrayBuffer !== 'function') return null;
  try {
    const dst = new Uint8Array(new SharedArrayBuffer(32), 8, 16), src = new Uint8Array(16);
    for (let i = 0; i < 16; i++) src[i] = i + 1;
    f.call(dst, src, 0, 16);
    const all = new Uint8Array(dst.buffer);
    for (let i = 0; i < 32; i++) if (all[i] !== (i >= 8 && i < 24 ? i - 7 : 0)) return null;
    return f;
  } catch {
    return null;
  }
})();

const SAB = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : null;
const isShared = (b: ArrayBufferLike): boolean => SAB !== null && b instanceof SAB;

/**
 * dst.set(src) for two arrays of one element type and length, by memcpy when exactly one of them lies in a
 * SharedArrayBuffer (so they cannot overlap: two SharedArrayBuffer objects may be views of one grown wasm memory)
 * and the copy is large.
 */
export function copyArray(dst: TypedArray, src: TypedArray): void {
  const bytes = src.byteLength;
  if (fill !== null && bytes >= FILL_MIN_BYTES && isShared(dst.buffer) !== isShared(src.buffer)) {
    fill.call(new Uint8Array(dst.buffer, dst.byteOffset, bytes), new Uint8Array(src.buffer, src.byteOffset, bytes), 0, bytes);
  } else {
    (dst as Float32Array).set(src as Float32Array);
  }
}

/** Whether copyArray copies by memcpy in this runtime (tests). */
export const fastSharedCopy = fill !== null;
