/** Reference reductions over the middle axis of a contiguous [outer, n, inner] block. */
import type { TypedArray } from '../../tensor/dtype.js';
import type { ReduceOp } from '../backend.js';

export function reduce(op: ReduceOp, x: TypedArray, xo: number, outer: number, n: number, inner: number, out: TypedArray): void {
  switch (op) {
    case 'sum': return sumLike(x, xo, outer, n, inner, out, false);
    case 'prod': return sumLike(x, xo, outer, n, inner, out, true);
    case 'max': return extreme(x, xo, outer, n, inner, out, 1, false);
    case 'min': return extreme(x, xo, outer, n, inner, out, -1, false);
    case 'argmax': return extreme(x, xo, outer, n, inner, out, 1, true);
    case 'argmin': return extreme(x, xo, outer, n, inner, out, -1, true);
  }
}

/** Sums accumulate in float64 rows, whatever the storage type. */
function sumLike(x: TypedArray, xo: number, outer: number, n: number, inner: number, out: TypedArray, prod: boolean): void {
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = xo + o * n;
      let acc = prod ? 1 : 0;
      if (prod) for (let k = 0; k < n; k++) acc *= x[base + k]!;
      else {
        // four partial sums: shorter dependency chains and smaller rounding error
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, k = 0;
        for (; k + 3 < n; k += 4) { a0 += x[base + k]!; a1 += x[base + k + 1]!; a2 += x[base + k + 2]!; a3 += x[base + k + 3]!; }
        for (; k < n; k++) a0 += x[base + k]!;
        acc = (a0 + a1) + (a2 + a3);
      }
      out[o] = acc;
    }
    return;
  }
  const row = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    row.fill(prod ? 1 : 0);
    const base = xo + o * n * inner;
    for (let k = 0; k < n; k++) {
      const p = base + k * inner;
      if (prod) for (let i = 0; i < inner; i++) row[i]! *= x[p + i]!;
      else for (let i = 0; i < inner; i++) row[i]! += x[p + i]!;
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = row[i]!;
  }
}

/** max/min (sign 1/-1) and their arg versions; NaN wins, the first extreme index is kept. */
function extreme(x: TypedArray, xo: number, outer: number, n: number, inner: number, out: TypedArray, sign: number, arg: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let p = xo + o * n * inner + i;
      let best = x[p]!, bi = 0;
      for (let k = 1; k < n; k++) {
        p += inner;
        const v = x[p]!;
        if (best !== best) break;
        if ((sign > 0 ? v > best : v < best) || v !== v) { best = v; bi = k; }
      }
      out[o * inner + i] = arg ? bi : best;
    }
  }
}
