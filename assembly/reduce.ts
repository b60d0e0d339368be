/** Float32 sums with float64 accumulators (as the reference), over contiguous [outer, n, inner] blocks. */

/** out[o] = Σₖ x[o·n + k] for o < outer (inner = 1). */
export function sumRows(x: usize, outer: i32, n: i32, out: usize): void {
  const n4 = n & ~3;
  for (let o = 0; o < outer; o++) {
    const row = x + (<usize>o * <usize>n << 2);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    let k = 0;
    for (; k < n4; k += 4) {
      const v = v128.load(row + (<usize>k << 2));
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
    }
    const s = f64x2.add(s0, s1);
    let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
    for (; k < n; k++) t += <f64>load<f32>(row + (<usize>k << 2));
    store<f32>(out + (<usize>o << 2), <f32>t);
  }
}

/** out[o·inner + i] = Σₖ x[(o·n + k)·inner + i]; acc is scratch for inner float64s (rounded up to 4). */
export function sumCols(x: usize, outer: i32, n: i32, inner: i32, out: usize, acc: usize): void {
  const iv = (inner + 3) >> 2; // whole vectors: x rows overhang into the next row or padding, never stored
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < iv; i++) { v128.store(acc + (<usize>i << 5), f64x2.splat(0)); v128.store(acc + (<usize>i << 5), f64x2.splat(0), 16); }
    const base = x + (<usize>o * <usize>n * <usize>inner << 2);
    for (let k = 0; k < n; k++) {
      const row = base + (<usize>k * <usize>inner << 2);
      for (let i = 0; i < iv; i++) {
        const v = v128.load(row + (<usize>i << 4)), p = acc + (<usize>i << 5);
        v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(v)));
        v128.store(p, f64x2.add(v128.load(p, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))), 16);
      }
    }
    const dst = out + (<usize>o * <usize>inner << 2);
    for (let i = 0; i < inner; i++) store<f32>(dst + (<usize>i << 2), <f32>load<f64>(acc + (<usize>i << 3)));
  }
}
