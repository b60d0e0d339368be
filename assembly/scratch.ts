/**
 * Each instance's (thread's) block of THREAD_BYTES at `scratch`. Its first 128 bytes: gemm spills partial 4×8 tiles
 * there, and the elementwise kernels run the last, partial vector of a buffer through it, so that no kernel reads or
 * writes a byte past its operands (the JS side may hand them arrays that live in wasm memory, packed next to other
 * data). The rest, from MEMO_OFFSET: gemm's per-thread memo of an operand's zero blocks (gemm.ts).
 */
export let scratch: usize = 4096;

/**
 * Bytes of each thread's block (src/backend/wasm/arena.ts lays the blocks out; scripts/build-wasm.mjs puts the
 * kernels' static data after the last).
 */
export const THREAD_BYTES: usize = 8192;
export const MEMO_OFFSET: usize = 128;

/** Give this instance (thread) its own block of THREAD_BYTES. */
export function setScratch(p: usize): void { scratch = p; }

/** Copy the r (< 4) floats at p into the 16-byte block s, the lanes after them zero. */
@inline export function tailIn(s: usize, p: usize, r: i32): void {
  v128.store(s, f32x4.splat(0));
  for (let i = 0; i < r; i++) store<u32>(s + (<usize>i << 2), load<u32>(p + (<usize>i << 2)));
}

/** Copy the first r (< 4) floats of the 16-byte block s to p. */
@inline export function tailOut(p: usize, s: usize, r: i32): void {
  for (let i = 0; i < r; i++) store<u32>(p + (<usize>i << 2), load<u32>(s + (<usize>i << 2)));
}

/** memmove of n bytes within memory (results moved from scratch into arrays that live in wasm memory). */
export function copyBytes(dst: usize, src: usize, n: usize): void { memory.copy(dst, src, n); }

/** n zero bytes at p. */
export function zeroBytes(p: usize, n: usize): void { memory.fill(p, 0, n); }
