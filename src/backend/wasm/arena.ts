/**
 * A WebAssembly memory seen as a scratch arena: each kernel call resets it and bump-allocates its operands,
 * copies the tensors' data in, runs, and copies the result back out. Tensors keep their own JS arrays (garbage
 * collected, no dispose); the arena only grows (to the largest call seen) and is reused by every call.
 * Operands that already live in the memory (resident arrays, resident.ts) are used in place instead.
 */
import { FILL_MIN_BYTES, copyArray } from './bytes.js';

/** Bytes reserved at the start of memory: control block (pool), job descriptor, per-thread tile scratch. */
export const CTL_OFFSET = 1024;
export const DESC_OFFSET = 2048;
/**
 * A block of THREAD_BYTES per thread (thread i's at SCRATCH_OFFSET + THREAD_BYTES·i), for up to MAX_THREADS threads:
 * its kernels' scratch and gemm's memo of zero blocks (assembly/scratch.ts). The kernels' static data follows the
 * last block (scripts/build-wasm.mjs: --memoryBase), then the arena.
 */
export const SCRATCH_OFFSET = 4096;
export const THREAD_BYTES = 8192;
export const MAX_THREADS = 32;
const ARENA_START = SCRATCH_OFFSET + THREAD_BYTES * MAX_THREADS;
/** Every buffer is followed by this much padding: the gemm kernel may read 8 floats past a row of B. */
const PAD = 64;
const PAGE = 65536;
/** Largest single step of growth. */
const GROW_STEP = 256 * 1024 * 1024;

/**
 * One WebAssembly memory: its growth, and every buffer object it has had. A shared memory's views made before a
 * grow stay valid but keep the older (shorter) SharedArrayBuffer object, so a view lies in this memory when its
 * buffer is any of them. (A plain memory's older buffers are detached by a grow.)
 */
export class Space {
  /** Newest first; one per grow, and grows are geometric: a handful. */
  private readonly buffers: ArrayBufferLike[];

  constructor(readonly memory: WebAssembly.Memory) {
    this.buffers = [memory.buffer];
  }

  get buffer(): ArrayBufferLike {
    return this.buffers[0]!;
  }

  /** Bytes of memory now. */
  get bytes(): number {
    return this.buffers[0]!.byteLength;
  }

  /** Grow the memory to at least `bytes` (whole pages). Throws a RangeError past the memory's maximum. */
  grow(bytes: number): void {
    const have = this.bytes;
    if (bytes <= have) return;
    this.memory.grow(Math.ceil((bytes - have) / PAGE));
    this.buffers.unshift(this.memory.buffer);
  }

  /** Whether `buffer` (a view's) is this memory's. */
  holds(buffer: ArrayBufferLike): boolean {
    const bs = this.buffers;
    for (let i = 0; i < bs.length; i++) if (bs[i] === buffer) return true;
    return false;
  }
}

export class Arena {
  f32!: Float32Array;
  i32!: Int32Array;
  u8!: Uint8Array;
  private start: number;
  private top: number;
  private end: number;
  /** Regions the arena moved away from during the current call, handed to `onLeave` at the next reset. */
  private left: number[] = [];

  /**
   * The arena starts after the module's data and owns the rest of memory. When something else grows the memory
   * after it (resident arrays) and a call needs more room, it moves to a fresh region at the end of memory and
   * hands the old one to `onLeave`.
   */
  constructor(readonly space: Space, heapBase: number, private readonly onLeave?: (start: number, end: number) => void) {
    this.start = Math.max(ARENA_START, align(heapBase));
    this.top = this.start;
    this.end = space.bytes;
    this.refresh();
  }

  /** Views over the current buffer (a plain memory's buffer is replaced whenever it grows). */
  private refresh(): void {
    const b = this.space.memory.buffer;
    this.f32 = new Float32Array(b);
    this.i32 = new Int32Array(b);
    this.u8 = new Uint8Array(b);
  }

  reset(): void {
    this.top = this.start;
    if (this.left.length > 0) {
      const l = this.left;
      this.left = [];
      for (let i = 0; i < l.length; i += 2) this.onLeave!(l[i]!, l[i + 1]!);
    }
  }

  /** A fresh 64-byte aligned, padded block of `bytes`; its address in bytes. Views may change: read them after. */
  alloc(bytes: number): number {
    let p = this.top;
    if (align(p + bytes + PAD) > this.end) p = this.extend(bytes);
    this.top = align(p + bytes + PAD);
    return p;
  }

  /** Copy src[offset, offset + n) (float32) into a fresh block; its address in bytes. */
  put(src: Float32Array, offset: number, n: number): number {
    const p = this.alloc(n * 4);
    this.write(p, n === src.length && offset === 0 ? src : src.subarray(offset, offset + n));
    return p;
  }

  /** Copy src to byte address p (a shared memory's large copies by memcpy: bytes.ts). */
  write(p: number, src: Float32Array): void {
    if (src.byteLength < FILL_MIN_BYTES) this.f32.set(src, p >>> 2);
    else copyArray(this.f32.subarray(p >>> 2, (p >>> 2) + src.length), src);
  }

  /** Copy n floats at byte address p out into dst[dstOffset…]. */
  get(p: number, n: number, dst: Float32Array, dstOffset = 0): void {
    const from = this.f32.subarray(p >>> 2, (p >>> 2) + n);
    if (n * 4 < FILL_MIN_BYTES) dst.set(from, dstOffset);
    else copyArray(dstOffset === 0 && n === dst.length ? dst : dst.subarray(dstOffset, dstOffset + n), from);
  }

  /** Make room for `bytes` more; where the block goes. */
  private extend(bytes: number): number {
    const size = this.space.bytes;
    if (this.end === size || !this.onLeave) {
      // the arena is last in memory: grow in place, geometrically so that slightly larger calls do not grow every time
      this.space.grow(Math.max(align(this.top + bytes + PAD), Math.min(size * 2, size + GROW_STEP)));
      this.end = this.space.bytes;
      this.refresh();
      return this.top;
    }
    // resident arrays lie after the arena: move to a fresh region at the end (twice the size), leaving the old one
    // to them once this call is over (blocks of this call may still be in it)
    const had = this.end - this.start;
    this.space.grow(size + Math.max(align(bytes + PAD), Math.min(2 * had, had + GROW_STEP)));
    this.left.push(this.start, this.end);
    this.start = size;
    this.end = this.space.bytes;
    this.refresh();
    return this.start;
  }

  /** Bytes of memory the arena holds (for tests and the benchmark). */
  get size(): number {
    return this.end - this.start;
  }
}

export const align = (n: number): number => Math.ceil(n / 64) * 64;
