/**
 * Resident arrays: TypedArrays that live in the shared WebAssembly memory, so that kernels take them in place
 * (no copy in or out). They stay garbage collected: a FinalizationRegistry on each returned array frees its block
 * when the array is collected. Those callbacks run only between tasks, never inside a synchronous loop, so the
 * heap has a budget (live bytes) past which it hands out nothing and the caller keeps ordinary arrays.
 *
 * The region lives exactly as long as the returned array object: a view made from it (subarray, or a new array on
 * its buffer) does not keep it alive. Only the shared memory holds resident arrays: a plain memory's buffer is
 * detached whenever it grows, a shared one's views stay valid.
 */
import type { DType, TypedArray } from '../../tensor/dtype.js';
import type { Space } from './arena.js';

/** Blocks start on 16 bytes and are followed by 32 bytes nobody else uses: the gemm kernel may read 7 floats past a row of B. */
const ALIGN = 16;
const PAD = 32;
/** Memory set aside at a time: at least 1 MiB, then as much again as the heap has, at most 64 MiB. */
const MIN_CHUNK = 1 << 20, MAX_CHUNK = 64 << 20;
export const DEFAULT_RESIDENT_BUDGET = 256 * 1024 * 1024;

const up = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * A first-fit free list over regions of the memory (sorted by address, neighbours merged). Regions come from
 * growing the memory and from the scratch arena when it moves (arena.ts); the arena's own region is never in it.
 */
export class ResidentHeap {
  /** Free blocks: starts and sizes, sorted by start, never adjacent. */
  private readonly starts: number[] = [];
  private readonly sizes: number[] = [];
  /** Live blocks: start → size. */
  private readonly live = new Map<number, number>();
  liveBytes = 0;
  /** Bytes of memory the heap holds (free or live). */
  heapBytes = 0;

  constructor(private readonly space: Space) {}

  get liveCount(): number {
    return this.live.size;
  }

  get freeBytes(): number {
    return this.heapBytes - this.liveBytes;
  }

  /** A block for `bytes` (16-byte aligned, padded); its address, or −1 past `budget` live bytes or the memory's maximum. */
  alloc(bytes: number, budget: number): number {
    const size = up(bytes) + PAD;
    if (this.liveBytes + size > budget) return -1;
    let i = this.find(size);
    if (i < 0) {
      try {
        this.grow(size);
      } catch {
        return -1; // RangeError: the memory is at its maximum
      }
      i = this.find(size);
      if (i < 0) return -1;
    }
    const p = this.starts[i]!;
    if (this.sizes[i]! === size) {
      this.starts.splice(i, 1);
      this.sizes.splice(i, 1);
    } else {
      this.starts[i] = p + size;
      this.sizes[i]! -= size;
    }
    this.live.set(p, size);
    this.liveBytes += size;
    return p;
  }

  /** Free the block at p (from alloc). */
  release(p: number): void {
    const size = this.live.get(p);
    if (size === undefined) return;
    this.live.delete(p);
    this.liveBytes -= size;
    this.insert(p, size);
  }

  /** Add the region [start, end) of memory (the arena's old one) to the free list. */
  addRegion(start: number, end: number): void {
    const s = up(start), e = Math.floor(end / ALIGN) * ALIGN;
    if (e <= s) return;
    this.heapBytes += e - s;
    this.insert(s, e - s);
  }

  /** Whether a live block starts at p (tests). */
  has(p: number): boolean {
    return this.live.has(p);
  }

  private find(size: number): number {
    for (let i = 0; i < this.sizes.length; i++) if (this.sizes[i]! >= size) return i;
    return -1;
  }

  private grow(size: number): void {
    const base = this.space.bytes;
    const chunk = Math.max(size, Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, this.heapBytes)));
    this.space.grow(base + chunk);
    this.addRegion(base, this.space.bytes);
  }

  private insert(p: number, size: number): void {
    const { starts, sizes } = this;
    let i = 0;
    while (i < starts.length && starts[i]! < p) i++;
    // merge with the block after, then with the one before
    if (i < starts.length && p + size === starts[i]!) {
      size += sizes[i]!;
      starts.splice(i, 1);
      sizes.splice(i, 1);
    }
    if (i > 0 && starts[i - 1]! + sizes[i - 1]! === p) {
      sizes[i - 1]! += size;
      return;
    }
    starts.splice(i, 0, p);
    sizes.splice(i, 0, size);
  }
}

const CTORS: Record<DType, new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedArray> = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array,
};

/**
 * `allocateResident` for the wasm backend: zeroed arrays of `size` elements in the heap's memory, their blocks
 * freed when the arrays are collected; null for a size that is not a positive integer, an unknown dtype, or past the
 * budget.
 */
export function residentAllocator(
  heap: ResidentHeap, space: Space, zero: (p: number, bytes: number) => void, budget: () => number, onFirst: () => void,
): (dtype: DType, size: number) => TypedArray | null {
  const registry = new FinalizationRegistry<number>((p) => heap.release(p));
  return (dtype, size) => {
    const Ctor = CTORS[dtype];
    if (!Ctor || !Number.isInteger(size) || size <= 0) return null;
    const bytes = size * (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const p = heap.alloc(bytes, budget());
    if (p < 0) return null;
    zero(p, bytes);
    const arr = new Ctor(space.buffer, p, size);
    registry.register(arr, p);
    onFirst();
    return arr;
  };
}
