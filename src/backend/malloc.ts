/**
 * malloc's thresholds when the native addon is not loaded. Tensors' storage comes from malloc (V8 allocates an
 * ArrayBuffer with calloc). glibc serves blocks of 128 KiB and more with a fresh mmap and unmaps them when freed, so
 * every new large tensor is paid for again in page faults at its first touch: about 12 µs a 4 KiB page on the
 * development VM, where a 100×64 by 64×784 product through `matmul` took 1.0–1.5 ms instead of 0.2 for its 313 KB
 * output. The addon's load tunes malloc (native/src/addon.cc, tune_malloc). Without it, glibc's own rule does much the
 * same (mallopt(3), M_MMAP_THRESHOLD): on freeing a mapped block of at most 32 MiB it raises the threshold to that
 * block's size, and lets twice as much free memory stay in the heap before trimming it. So one block just under
 * 32 MiB is allocated and dropped here: never touched, it costs no memory, and the first collection frees it. With
 * another allocator, or in a browser, it is only a short-lived untouched allocation. NABLA_MALLOC_TUNING=0, or the
 * user's own MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_, leave malloc alone, as they do for the addon.
 */

/** The largest block whose release still raises glibc's threshold (32 MiB with its header and page rounding). */
const BLOCK_BYTES = (32 << 20) - (1 << 16);

export function raiseMallocThresholds(): void {
  const env = typeof process === 'undefined' ? undefined : process.env;
  if (!env || env.NABLA_MALLOC_TUNING === '0' || env.MALLOC_MMAP_THRESHOLD_ || env.MALLOC_TRIM_THRESHOLD_) return;
  void new ArrayBuffer(BLOCK_BYTES);
}
