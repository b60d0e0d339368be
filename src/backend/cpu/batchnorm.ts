/**
 * Reference batch-norm kernels over x seen as [N, C, S] (S: the flattened spatial dims): per-channel
 * moments, a per-channel affine map, and the fused input gradient. Accumulation is float64.
 */
import type { TypedArray } from '../../tensor/dtype.js';
import type { View } from '../backend.js';

export function batchNormStats(x: View, mean: Float64Array, variance: Float64Array): void {
  const [N, C, S] = x.shape as [number, number, number];
  const [sN, sC, sS] = x.strides as [number, number, number];
  const xd = x.data, M = N * S;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) {
      const p = x.offset + n * sN + c * sC;
      for (let k = 0; k < S; k++) s += xd[p + k * sS]!;
    }
    const m = s / M;
    // second pass over the deviations: no cancellation when |mean| ≫ std
    let q = 0;
    for (let n = 0; n < N; n++) {
      const p = x.offset + n * sN + c * sC;
      for (let k = 0; k < S; k++) { const d = xd[p + k * sS]! - m; q += d * d; }
    }
    mean[c] = m;
    variance[c] = q / M;
  }
}

export function channelAffine(x: View, scale: Float64Array, shift: Float64Array, out: TypedArray): void {
  const [N, C, S] = x.shape as [number, number, number];
  const [sN, sC, sS] = x.strides as [number, number, number];
  const xd = x.data;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const p = x.offset + n * sN + c * sC, a = scale[c]!, b = shift[c]!;
      if (sS === 1) for (let k = 0; k < S; k++) out[o++] = xd[p + k]! * a + b;
      else for (let k = 0; k < S; k++) out[o++] = xd[p + k * sS]! * a + b;
    }
  }
}

export function batchNormBackward(x: View, g: View, mean: Float64Array, invStd: Float64Array, scale: Float64Array, sums: Float64Array, out: TypedArray | null): void {
  const [N, C, S] = x.shape as [number, number, number];
  const [xN, xC, xS] = x.strides as [number, number, number];
  const [gN, gC, gS] = g.strides as [number, number, number];
  const xd = x.data, gd = g.data, M = N * S;
  for (let c = 0; c < C; c++) {
    const m = mean[c]!, r = invStd[c]!;
    let sg = 0, sgx = 0;
    for (let n = 0; n < N; n++) {
      const p = x.offset + n * xN + c * xC, q = g.offset + n * gN + c * gC;
      for (let k = 0; k < S; k++) { const gv = gd[q + k * gS]!; sg += gv; sgx += gv * (xd[p + k * xS]! - m); }
    }
    sums[c] = sg;
    sums[C + c] = sgx * r; // Σ g·x̂
    if (!out) continue;
    // gx = scale·(g − Σg/M − x̂·Σ(g·x̂)/M)
    const a = scale[c]!, mg = sg / M, k1 = (sgx * r * r) / M;
    for (let n = 0; n < N; n++) {
      const p = x.offset + n * xN + c * xC, q = g.offset + n * gN + c * gC;
      let o = (n * C + c) * S;
      for (let k = 0; k < S; k++) out[o++] = a * (gd[q + k * gS]! - mg - (xd[p + k * xS]! - m) * k1);
    }
  }
}
