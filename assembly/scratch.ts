/**
 * Each instance's (thread's) 128-byte scratch block: gemm spills partial 4×8 tiles there, and the elementwise
 * kernels run the last, partial vector of a buffer through it, so that no kernel reads or writes a byte past its
 * operands (the JS side may hand them arrays that live in wasm memory, packed next to other data).
 */
export let scratch: usize = 4096;

/** Give this instance (thread) its own 128-byte scratch block. */
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
