/**
 * Float32 matrix multiply, C = op(A) · op(B), register-blocked for SIMD128 and read in place:
 * no transpose is ever materialised for the layouts the backward pass produces.
 *
 * Two micro-kernels:
 * - `kern4x8` (B rows contiguous: NN and TN): a 4×8 block of C in eight v128 accumulators; per k it loads
 *   8 values of B (two v128) and broadcasts 4 values of A (load32_splat), 8 mul + 8 add.
 * - `dot4x2` (B columns contiguous: NT): 4 rows of A against 2 rows of B, dot products vectorised along k
 *   (A and B both contiguous in k), reduced horizontally once per tile.
 * Edges: short row groups repeat their last row (reads stay in bounds, the extra rows are not stored);
 * short column groups read past the row into padding the caller provides and store only valid columns.
 *
 * A job is cut into tiles (batch × row blocks × column blocks) described in a descriptor in memory, so the
 * calling thread and the pool's workers run `gemmTiles(desc, lo, hi)` on disjoint tile ranges. The descriptor gives
 * the number of row and column blocks; their boundaries fall on whole register tiles and their sizes differ by at
 * most one register tile, so that threads taking tiles in turn get equal work.
 * All sizes and offsets are in bytes unless named otherwise.
 */
import { MEMO_OFFSET, THREAD_BYTES, scratch as tileScratch } from './scratch';

// descriptor layout (i32 slots)
export const G_A = 0, G_ARS = 1, G_ACS = 2, G_ABS = 3;
export const G_B = 4, G_BRS = 5, G_BCS = 6, G_BBS = 7;
export const G_C = 8, G_LDC = 9, G_CBS = 10;
export const G_M = 11, G_N = 12, G_K = 13, G_SEQ = 15, G_NTI = 16, G_NTJ = 17; // slot 14: the tile count (JS side)
/**
 * A dot-kernel product whose B arrives row-major (K × N, rows G_TBRS bytes apart, batches G_TBBS apart, at G_TB; 0:
 * none): each tile first transposes its own columns of it into its rows of B (the kernel's layout, at G_B), so the
 * thread that reads those rows wrote them, and no thread waits for a whole transpose before starting.
 */
export const G_TB = 18, G_TBRS = 19, G_TBBS = 20;

/**
 * c + a·b. In the relaxed-SIMD builds (compiled with --use RELAXED=1, loaded only where the engine supports relaxed
 * SIMD) this is one fused multiply-add; elsewhere a multiply and an add.
 */
@inline function madd(c: v128, a: v128, b: v128): v128 {
  if (RELAXED) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

const KC: i32 = 256;   // k block of the broadcast kernel: a 256×8 panel of B (8 KiB) stays in L1
const KCD: i32 = 1024; // k block of the dot kernel: 4 rows of A (16 KiB) stay in L1

@inline function ld(desc: usize, slot: i32): i32 { return load<i32>(desc + (<usize>slot << 2)); }

/** Store a 4×8 register tile into C (adding what is there when acc), only rows × cols of it. */
@inline function storeTile(
  cp: usize, l: usize, rows: i32, cols: i32, acc: bool, scratch: usize,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
): void {
  if (rows == 4 && cols == 8) {
    if (acc) {
      c00 = f32x4.add(c00, v128.load(cp)); c01 = f32x4.add(c01, v128.load(cp, 16));
      c10 = f32x4.add(c10, v128.load(cp + l)); c11 = f32x4.add(c11, v128.load(cp + l, 16));
      c20 = f32x4.add(c20, v128.load(cp + 2 * l)); c21 = f32x4.add(c21, v128.load(cp + 2 * l, 16));
      c30 = f32x4.add(c30, v128.load(cp + 3 * l)); c31 = f32x4.add(c31, v128.load(cp + 3 * l, 16));
    }
    v128.store(cp, c00); v128.store(cp, c01, 16);
    v128.store(cp + l, c10); v128.store(cp + l, c11, 16);
    v128.store(cp + 2 * l, c20); v128.store(cp + 2 * l, c21, 16);
    v128.store(cp + 3 * l, c30); v128.store(cp + 3 * l, c31, 16);
    return;
  }
  v128.store(scratch, c00); v128.store(scratch, c01, 16);
  v128.store(scratch, c10, 32); v128.store(scratch, c11, 48);
  v128.store(scratch, c20, 64); v128.store(scratch, c21, 80);
  v128.store(scratch, c30, 96); v128.store(scratch, c31, 112);
  for (let r = 0; r < rows; r++) {
    const dst = cp + <usize>r * l, src = scratch + (<usize>r << 5);
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 2;
      const v = load<f32>(src + o);
      store<f32>(dst + o, acc ? load<f32>(dst + o) + v : v);
    }
  }
}

/** C[4×8] (+)= A[4×kc] · B[kc×8]; A(r, k) at a + r·ars + k·acs, B(k, j) at b + k·brs + 4j. */
@inline function kern4x8(
  a: usize, ars: usize, acs: usize, rows: i32, b: usize, brs: usize,
  cp: usize, ldc: usize, kc: i32, acc: bool, cols: i32, scratch: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const a0 = a, a1 = rows > 1 ? a + ars : a0, a2 = rows > 2 ? a + 2 * ars : a1, a3 = rows > 3 ? a + 3 * ars : a2;
  let off: usize = 0, bp = b;
  const end = <usize>kc * acs;
  while (off < end) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let x = v128.load32_splat(a0 + off);
    c00 = madd(c00, x, b0); c01 = madd(c01, x, b1);
    x = v128.load32_splat(a1 + off);
    c10 = madd(c10, x, b0); c11 = madd(c11, x, b1);
    x = v128.load32_splat(a2 + off);
    c20 = madd(c20, x, b0); c21 = madd(c21, x, b1);
    x = v128.load32_splat(a3 + off);
    c30 = madd(c30, x, b0); c31 = madd(c31, x, b1);
    off += acs; bp += brs;
  }
  storeTile(cp, ldc, rows, cols, acc, scratch, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** kern4x8 over the `n` values of k listed at `list` (u8, ascending) only: the other rows of the panel of B are zero. */
@inline function kern4x8L(
  a: usize, ars: usize, acs: usize, rows: i32, b: usize, brs: usize,
  cp: usize, ldc: usize, list: usize, n: i32, acc: bool, scratch: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const a0 = a, a1 = rows > 1 ? a + ars : a0, a2 = rows > 2 ? a + 2 * ars : a1, a3 = rows > 3 ? a + 3 * ars : a2;
  for (let e = 0; e < n; e++) {
    const k = <usize>load<u8>(list + <usize>e), off = k * acs, bp = b + k * brs;
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let x = v128.load32_splat(a0 + off);
    c00 = madd(c00, x, b0); c01 = madd(c01, x, b1);
    x = v128.load32_splat(a1 + off);
    c10 = madd(c10, x, b0); c11 = madd(c11, x, b1);
    x = v128.load32_splat(a2 + off);
    c20 = madd(c20, x, b0); c21 = madd(c21, x, b1);
    x = v128.load32_splat(a3 + off);
    c30 = madd(c30, x, b0); c31 = madd(c31, x, b1);
  }
  storeTile(cp, ldc, rows, 8, acc, scratch, c00, c01, c10, c11, c20, c21, c30, c31);
}

@inline function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.add(s, v128.shuffle<f32>(s, s, 1, 0, 3, 2)), 0);
}

/**
 * C[4×2] (+)= A[4×kc] · B[2×kc]ᵀ with rows of A (stride lda) and of B (stride ldb) contiguous in k. The whole vectors
 * are all taken, or when n ≥ 0 only the n vectors listed at `list` (u8 vector numbers, ascending; see tileNT: in the
 * others the rows of A are zero); then the last kc mod 4 elements one by one.
 */
@inline function dot4x2(
  a: usize, lda: usize, rows: i32, b: usize, ldb: usize, cols: i32, kc: i32, cp: usize, ldc: usize, acc: bool,
  list: usize, n: i32,
): void {
  const a0 = a, a1 = rows > 1 ? a + lda : a0, a2 = rows > 2 ? a + 2 * lda : a1, a3 = rows > 3 ? a + 3 * lda : a2;
  const b0 = b, b1 = cols > 1 ? b + ldb : b0;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (n >= 0) {
    for (let e = 0; e < n; e++) {
      const off = <usize>load<u8>(list + <usize>e) << 4;
      const x0 = v128.load(b0 + off), x1 = v128.load(b1 + off);
      let y = v128.load(a0 + off);
      c00 = madd(c00, y, x0); c01 = madd(c01, y, x1);
      y = v128.load(a1 + off);
      c10 = madd(c10, y, x0); c11 = madd(c11, y, x1);
      y = v128.load(a2 + off);
      c20 = madd(c20, y, x0); c21 = madd(c21, y, x1);
      y = v128.load(a3 + off);
      c30 = madd(c30, y, x0); c31 = madd(c31, y, x1);
    }
  } else {
    const vend = <usize>(kc & ~3) << 2;
    for (let off: usize = 0; off < vend; off += 16) {
      const x0 = v128.load(b0 + off), x1 = v128.load(b1 + off);
      let y = v128.load(a0 + off);
      c00 = madd(c00, y, x0); c01 = madd(c01, y, x1);
      y = v128.load(a1 + off);
      c10 = madd(c10, y, x0); c11 = madd(c11, y, x1);
      y = v128.load(a2 + off);
      c20 = madd(c20, y, x0); c21 = madd(c21, y, x1);
      y = v128.load(a3 + off);
      c30 = madd(c30, y, x0); c31 = madd(c31, y, x1);
    }
  }
  let s00 = hsum(c00), s01 = hsum(c01), s10 = hsum(c10), s11 = hsum(c11);
  let s20 = hsum(c20), s21 = hsum(c21), s30 = hsum(c30), s31 = hsum(c31);
  const kend = <usize>kc << 2;
  let off = <usize>(kc & ~3) << 2;
  while (off < kend) {
    const x0 = load<f32>(b0 + off), x1 = load<f32>(b1 + off);
    let y = load<f32>(a0 + off); s00 += y * x0; s01 += y * x1;
    y = load<f32>(a1 + off); s10 += y * x0; s11 += y * x1;
    y = load<f32>(a2 + off); s20 += y * x0; s21 += y * x1;
    y = load<f32>(a3 + off); s30 += y * x0; s31 += y * x1;
    off += 4;
  }
  storePair(cp, acc, cols, s00, s01);
  if (rows > 1) storePair(cp + ldc, acc, cols, s10, s11);
  if (rows > 2) storePair(cp + 2 * ldc, acc, cols, s20, s21);
  if (rows > 3) storePair(cp + 3 * ldc, acc, cols, s30, s31);
}

@inline function storePair(p: usize, acc: bool, cols: i32, x: f32, y: f32): void {
  if (acc) { x += load<f32>(p); if (cols > 1) y += load<f32>(p, 4); }
  store<f32>(p, x);
  if (cols > 1) store<f32>(p, y, 4);
}

/**
 * Whether the floats in bytes [p, p + bytes) are all finite, by their sum (s − s is 0 for finite s, NaN otherwise):
 * NaN or ∞ anywhere makes it NaN or ∞. Finite values whose sum overflows (beyond 10³⁸) also say no, which only ever
 * sends a tile to the full loop.
 */
@inline function finiteSpan(p: usize, bytes: usize): bool {
  const v = bytes & ~15;
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), o: usize = 0;
  for (; o + 32 <= v; o += 32) { s0 = f32x4.add(s0, v128.load(p + o)); s1 = f32x4.add(s1, v128.load(p + o, 16)); }
  if (o < v) s0 = f32x4.add(s0, v128.load(p + o));
  const s = f32x4.add(s0, s1);
  if (!i32x4.all_true(f32x4.eq(f32x4.sub(s, s), f32x4.splat(0)))) return false;
  for (o = v; o < bytes; o += 4) { const x = load<f32>(p + o); if (x - x != 0) return false; }
  return true;
}

/** Whether A(r, k) is finite for rows [i0, i1) and k < kc (A(r, k) at a + r·ars + k·acs). */
function finiteRows(a: usize, ars: usize, acs: usize, i0: i32, i1: i32, kc: i32): bool {
  if (ars == 4) {
    // rows contiguous for each k (TN: A is a transposed row-major matrix)
    for (let k = 0; k < kc; k++) if (!finiteSpan(a + <usize>i0 * 4 + <usize>k * acs, <usize>(i1 - i0) << 2)) return false;
    return true;
  }
  for (let r = i0; r < i1; r++) {
    for (let k = 0; k < kc; k++) { const x = load<f32>(a + <usize>r * ars + <usize>k * acs); if (x - x != 0) return false; }
  }
  return true;
}

/*
 * Zero blocks. A product does not multiply what is zero in one operand where the other is finite there: the rows of a
 * panel of 8 columns of B that are all ±0 (NN, TN: the weight gradient δᵀ·x over a batch's blank pixels, ReLU outputs)
 * and the vectors (4 values of k) that are ±0 in all 4 rows of a row group of A (NT: the forward product x·Wᵀ). Every
 * sum then gets exactly the bits the full loop gives: adding ±0 changes no sum but −0, and a sum that starts at +0
 * never is −0 (x + (−x) is +0). NaN or ∞ times 0 is NaN, so a block is only skipped where the
 * other operand is finite, which the tile checks once, for the rows it skips against.
 *
 * The rest is listed: per panel, the rows k not zero (u8, as KC ≤ 256); per row group, the vectors not zero (u8
 * vector numbers, as KCD / 4 ≤ 256). A unit whose list would hold more than 3/4 of its rows or vectors runs the plain
 * loop instead (DENSE): listing costs a byte load per step. Each thread keeps the lists it made for the current block
 * of the current launch (`memoSeq`, counted by the JS side in the descriptor, and the block's address) in its own
 * block of memory (scratch.ts), since its several tiles of one product need the same units: records of unit u < 128
 * at RECORDS + 4u, lists from LISTS on. A unit it cannot keep (u ≥ 128, memo full) is listed at TEMP for one use.
 */
const RECORDS: usize = MEMO_OFFSET, MEMO_UNITS: i32 = 128;
const TEMP: usize = RECORDS + 4 * <usize>MEMO_UNITS, LISTS: usize = TEMP + 256;
/** A unit's record: (length << 16) | (its list's offset in the thread's block), or: */
const DENSE: i32 = -1, UNKNOWN: i32 = -2;
let memoSeq: i32 = 0, memoKey: usize = 0, memoTop: usize = LISTS;
let known0: u64 = 0, known1: u64 = 0;

/** Start the memo over unless it is for launch seq's block at key. */
@inline function memoFor(seq: i32, key: usize): void {
  if (seq != memoSeq || key != memoKey) { memoSeq = seq; memoKey = key; memoTop = LISTS; known0 = 0; known1 = 0; }
}

/** Unit u's record in the memo, or UNKNOWN. */
@inline function recordOf(u: i32): i32 {
  if (u >= MEMO_UNITS) return UNKNOWN;
  const bit: u64 = <u64>1 << <u64>(u & 63);
  return ((u < 64 ? known0 : known1) & bit) ? load<i32>(tileScratch + RECORDS + (<usize>u << 2)) : UNKNOWN;
}

/** Where a new list of at most `cap` bytes for unit u goes: the memo when u is kept and the list fits, else TEMP. */
@inline function listAt(u: i32, cap: i32): usize {
  return u < MEMO_UNITS && memoTop + <usize>cap <= THREAD_BYTES ? memoTop : TEMP;
}

/** The record of n entries listed at offset `at` for unit u (DENSE past `most`), kept in the memo unless at TEMP. */
@inline function listed(u: i32, at: usize, n: i32, most: i32): i32 {
  const rec = n > most ? DENSE : (n << 16) | <i32>at;
  if (u < MEMO_UNITS && (at != TEMP || rec == DENSE)) {
    if (rec != DENSE) memoTop += <usize>n;
    store<i32>(tileScratch + RECORDS + (<usize>u << 2), rec);
    const bit: u64 = <u64>1 << <u64>(u & 63);
    if (u < 64) known0 |= bit; else known1 |= bit;
  }
  return rec;
}

/** The rows k < kc of panel p (8 columns at b, rows brs bytes apart) that are not all ±0 (NaN is not ±0): a record. */
function panelRows(p: i32, b: usize, brs: usize, kc: i32): i32 {
  const rec = recordOf(p);
  if (rec != UNKNOWN) return rec;
  const most = (kc * 3) >> 2, at = listAt(p, most + 1), list = tileScratch + at, z = f32x4.splat(0);
  let n = 0;
  for (let k = 0; k < kc && n <= most; k++) {
    const r = b + <usize>k * brs;
    store<u8>(list + <usize>n, <u8>k);
    n += <i32>!i32x4.all_true(v128.and(f32x4.eq(v128.load(r), z), f32x4.eq(v128.load(r, 16), z)));
    if (k == 15 && n == 16) n = most + 1; // no zero row in the first 16: taken as dense, not scanned further
  }
  return listed(p, at, n, most);
}

/** The vectors before vend of row group g (`rows` rows of A from a, lda bytes apart) not ±0 in all its rows: a record. */
function groupVectors(g: i32, a: usize, lda: usize, rows: i32, vend: usize): i32 {
  const rec = recordOf(g);
  if (rec != UNKNOWN) return rec;
  const nv = <i32>(vend >> 4), most = (nv * 3) >> 2, at = listAt(g, most + 1), list = tileScratch + at;
  let n = 0;
  for (let v = 0; v < nv && n <= most; v++) {
    store<u8>(list + <usize>n, <u8>v);
    n += <i32>!zeroVector(a, lda, rows, <usize>v << 4);
  }
  return listed(g, at, n, most);
}

/** Rows [i0, i1) × columns [j0, j1) of one product, B rows contiguous (NN, TN). `seq` tells launches apart. */
function tileNN(
  a: usize, ars: usize, acs: usize, b: usize, brs: usize, c: usize, ldc: usize,
  i0: i32, i1: i32, j0: i32, j1: i32, K: i32, scratch: usize, seq: i32,
): void {
  const z = f32x4.splat(0);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0), acc = k0 > 0;
    const ak = a + <usize>k0 * acs, bk = b + <usize>k0 * brs;
    let finite = -1; // whether this block of A is finite: worked out when a panel first skips rows
    memoFor(seq, bk);
    for (let j = j0; j < j1; j += 8) {
      const cols = min(8, j1 - j), bj = bk + (<usize>j << 2);
      const rec = cols == 8 ? panelRows(j >> 3, bj, brs, kc) : DENSE;
      if (rec != DENSE) {
        if (finite < 0) finite = finiteRows(ak, ars, acs, i0, i1, kc) ? 1 : 0;
        if (finite == 1) {
          const n = rec >>> 16, list = scratch + <usize>(rec & 0xffff);
          for (let i = i0; i < i1; i += 4) {
            const cp = c + <usize>i * ldc + (<usize>j << 2), rows = min(4, i1 - i);
            if (n == 0) storeTile(cp, ldc, rows, 8, acc, scratch, z, z, z, z, z, z, z, z);
            else kern4x8L(ak + <usize>i * ars, ars, acs, rows, bj, brs, cp, ldc, list, n, acc, scratch);
          }
          continue;
        }
      }
      for (let i = i0; i < i1; i += 4) {
        kern4x8(ak + <usize>i * ars, ars, acs, min(4, i1 - i), bj, brs, c + <usize>i * ldc + (<usize>j << 2), ldc, kc, acc, cols, scratch);
      }
    }
  }
}

/** Rows [i0, i1) × columns [j0, j1) of one product, A rows and B columns contiguous (NT). `seq` tells launches apart. */
function tileNT(
  a: usize, lda: usize, b: usize, ldb: usize, c: usize, ldc: usize,
  i0: i32, i1: i32, j0: i32, j1: i32, K: i32, seq: i32,
): void {
  if (K == 0) {
    for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) store<f32>(c + <usize>i * ldc + (<usize>j << 2), 0);
    return;
  }
  for (let k0 = 0; k0 < K; k0 += KCD) {
    const kc = min(KCD, K - k0), acc = k0 > 0, kb = <usize>k0 << 2, vend = <usize>(kc & ~3) << 2;
    let finite = -1; // whether rows [j0, j1) of B are finite before vend: worked out when a row group first skips
    memoFor(seq, a + kb);
    for (let i = i0; i < i1; i += 4) {
      const rows = min(4, i1 - i), ai = a + <usize>i * lda + kb;
      let rec = groupVectors(i >> 2, ai, lda, rows, vend);
      if (rec != DENSE) {
        if (finite < 0) finite = finiteRowsNT(b + <usize>j0 * ldb + kb, ldb, j1 - j0, vend) ? 1 : 0;
        if (finite == 0) rec = DENSE;
      }
      const n = rec == DENSE ? -1 : rec >>> 16, list = tileScratch + <usize>(rec & 0xffff);
      for (let j = j0; j < j1; j += 2) {
        dot4x2(ai, lda, rows, b + <usize>j * ldb + kb, ldb, min(2, j1 - j), kc, c + <usize>i * ldc + (<usize>j << 2), ldc, acc, list, n);
      }
    }
  }
}

/** Whether the vector at byte off is zero (+0 or −0) in all `rows` rows of A (lda bytes apart). */
@inline function zeroVector(a: usize, lda: usize, rows: i32, off: usize): bool {
  const z = f32x4.splat(0);
  let all = f32x4.eq(v128.load(a + off), z);
  for (let r = 1; r < rows; r++) all = v128.and(all, f32x4.eq(v128.load(a + <usize>r * lda + off), z));
  return i32x4.all_true(all);
}

/** Whether `n` rows of B (ldb bytes apart) are finite in their first `bytes` bytes. */
function finiteRowsNT(b: usize, ldb: usize, n: i32, bytes: usize): bool {
  for (let r = 0; r < n; r++) if (!finiteSpan(b + <usize>r * ldb, bytes)) return false;
  return true;
}

/** Start of block t of n over `units` units: ⌊t·units / n⌋ (in 64 bits: t·units may pass 2³¹). */
@inline function split(t: i32, units: i32, n: i32): i32 {
  return <i32>(<i64>t * <i64>units / <i64>n);
}

/** Run tiles [lo, hi) of the product described at desc (batch-major, then row blocks, then column blocks). */
export function gemmTiles(desc: usize, lo: i32, hi: i32): void {
  const M = ld(desc, G_M), N = ld(desc, G_N), K = ld(desc, G_K);
  const nti = ld(desc, G_NTI), ntj = ld(desc, G_NTJ);
  const ars = <usize>ld(desc, G_ARS), acs = <usize>ld(desc, G_ACS), brs = <usize>ld(desc, G_BRS), bcs = <usize>ld(desc, G_BCS);
  const ldc = <usize>ld(desc, G_LDC), scratch = tileScratch;
  const perBatch = nti * ntj;
  // register tiles: 4 rows by 8 columns (broadcast kernel) or 2 columns (dot kernel)
  const uc = bcs == 4 ? 8 : 2, nur = (M + 3) >> 2, nuc = (N + uc - 1) / uc;
  for (let t = lo; t < hi; t++) {
    const bt = t / perBatch, r = t - bt * perBatch, ti = r / ntj, tj = r - ti * ntj;
    const a = <usize>ld(desc, G_A) + <usize>bt * <usize>ld(desc, G_ABS);
    const b = <usize>ld(desc, G_B) + <usize>bt * <usize>ld(desc, G_BBS);
    const c = <usize>ld(desc, G_C) + <usize>bt * <usize>ld(desc, G_CBS);
    const i0 = min(M, 4 * split(ti, nur, nti)), i1 = min(M, 4 * split(ti + 1, nur, nti));
    const j0 = min(N, uc * split(tj, nuc, ntj)), j1 = min(N, uc * split(tj + 1, nuc, ntj));
    const tb = <usize>ld(desc, G_TB);
    if (tb != 0 && j1 > j0) {
      transpose(tb + <usize>bt * <usize>ld(desc, G_TBBS) + (<usize>j0 << 2), K, j1 - j0, ld(desc, G_TBRS), b + <usize>j0 * bcs, <i32>bcs);
    }
    if (bcs == 4) tileNN(a, ars, acs, b, brs, c, ldc, i0, i1, j0, j1, K, scratch, ld(desc, G_SEQ));
    else tileNT(a, ars, b, bcs, c, ldc, i0, i1, j0, j1, K, ld(desc, G_SEQ));
  }
}

/** Side of the square blocks the transpose walks: a 32×32 block of source and of destination (4 KiB each) stays in L1. */
const TB: i32 = 32;

/**
 * dst (cols × rows, row stride drs bytes) = src (rows × cols, row stride srs bytes, columns contiguous) transposed:
 * dst[j][i] = src[i][j], in TB×TB blocks. Give dst a row stride that is not a multiple of 1 KiB: with both strides
 * multiples of 4 KiB every load falsely waits on an earlier store to the same address modulo 4 KiB (a 1024²
 * transpose takes 1.8 ms so, 0.2 ms with dst rows padded by 16 bytes).
 */
export function transpose(src: usize, rows: i32, cols: i32, srs: i32, dst: usize, drs: i32): void {
  for (let i0 = 0; i0 < rows; i0 += TB) {
    const i1 = min(rows, i0 + TB);
    for (let j0 = 0; j0 < cols; j0 += TB) transposeBlock(src, srs, dst, drs, i0, i1, j0, min(cols, j0 + TB));
  }
}

/** Rows [i0, i1) × columns [j0, j1) of the transpose: 4×4 blocks through registers, scalar edges. */
function transposeBlock(src: usize, srs: i32, dst: usize, drs: i32, i0: i32, i1: i32, j0: i32, j1: i32): void {
  const r4 = i0 + ((i1 - i0) & ~3), c4 = j0 + ((j1 - j0) & ~3), s = <usize>srs, d = <usize>drs;
  for (let i = i0; i < r4; i += 4) {
    const p = src + <usize>i * s;
    for (let j = j0; j < c4; j += 4) {
      const q = p + (<usize>j << 2);
      const x0 = v128.load(q), x1 = v128.load(q + s), x2 = v128.load(q + 2 * s), x3 = v128.load(q + 3 * s);
      const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
      const o = dst + <usize>j * d + (<usize>i << 2);
      v128.store(o, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
      v128.store(o + d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
      v128.store(o + 2 * d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
      v128.store(o + 3 * d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
    }
    for (let j = c4; j < j1; j++) for (let r = 0; r < 4; r++) store<f32>(dst + <usize>j * d + (<usize>(i + r) << 2), load<f32>(p + <usize>r * s + (<usize>j << 2)));
  }
  for (let i = r4; i < i1; i++) for (let j = j0; j < j1; j++) store<f32>(dst + <usize>j * d + (<usize>i << 2), load<f32>(src + <usize>i * s + (<usize>j << 2)));
}
