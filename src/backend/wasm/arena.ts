/**
 * A WebAssembly memory seen as a scratch arena: each kernel call resets it and bump-allocates its operands,
 * copies the tensors' data in, runs, and copies the result out. Tensors keep their own JS arrays (garbage
 * collected, no dispose); the arena only grows (to the largest call seen) and is reused by every call.
 */

/** Bytes reserved at the start of memory: control block (pool), job descriptor, per-thread tile scratch. */
export const CTL_OFFSET = 1024;
export const DESC_OFFSET = 2048;
/** 128 bytes per thread (thread i at SCRATCH_OFFSET + 128·i), for up to MAX_THREADS threads. */
export const SCRATCH_OFFSET = 4096;
export const MAX_THREADS = 32;
const ARENA_START = SCRATCH_OFFSET + 128 * MAX_THREADS;
/** Every buffer is followed by this much padding: kernels run whole vectors and may read 8 floats past a row. */
const PAD = 64;
const PAGE = 65536;

export class Arena {
  f32!: Float32Array;
  i32!: Int32Array;
  u8!: Uint8Array;
  private top: number;
  private readonly start: number;

  constructor(readonly memory: WebAssembly.Memory, heapBase: number) {
    this.start = Math.max(ARENA_START, align(heapBase));
    this.top = this.start;
    this.refresh();
  }

  /** Views over the current buffer (a plain memory's buffer is replaced whenever it grows). */
  private refresh(): void {
    this.f32 = new Float32Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
    this.u8 = new Uint8Array(this.memory.buffer);
  }

  reset(): void {
    this.top = this.start;
  }

  /** A fresh 64-byte aligned, padded block of `bytes`; its address in bytes. Views may change: read them after. */
  alloc(bytes: number): number {
    const p = this.top;
    this.top = align(p + bytes + PAD);
    if (this.top > this.memory.buffer.byteLength) this.grow(this.top);
    return p;
  }

  /** Copy src[offset, offset + n) (float32) into a fresh block; its address in bytes. */
  put(src: Float32Array, offset: number, n: number): number {
    const p = this.alloc(n * 4);
    this.f32.set(n === src.length && offset === 0 ? src : src.subarray(offset, offset + n), p >>> 2);
    return p;
  }

  /** Copy n floats at byte address p out into dst[dstOffset…]. */
  get(p: number, n: number, dst: Float32Array, dstOffset = 0): void {
    dst.set(this.f32.subarray(p >>> 2, (p >>> 2) + n), dstOffset);
  }

  private grow(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    // grow geometrically so a sequence of slightly larger calls does not grow every time
    const want = Math.max(bytes, Math.min(have * 2, have + 256 * 1024 * 1024));
    this.memory.grow(Math.ceil((want - have) / PAGE));
    this.refresh();
  }

  /** Bytes of memory the arena holds (for tests and the benchmark). */
  get size(): number {
    return this.memory.buffer.byteLength;
  }
}

export const align = (n: number): number => Math.ceil(n / 64) * 64;
