/**
 * Reference im2col / col2im: the only raw loops of a convolution; the products themselves go through gemm.
 * cols is [C·kh·kw, nb·OH·OW]: one row per (channel, kernel tap), one column per (image, output position).
 */
import type { TypedArray } from '../../tensor/dtype.js';
import type { Conv2dGeometry, View } from '../backend.js';

/** The output columns [lo, hi) whose input column ow·sw − padLeft + off lies inside [0, W). */
function validRange(OW: number, sw: number, start: number, W: number): [number, number] {
  // iw = ow·sw + start, need 0 ≤ iw < W
  const lo = start >= 0 ? 0 : Math.ceil(-start / sw);
  const hi = start >= W ? 0 : Math.min(OW, Math.floor((W - 1 - start) / sw) + 1);
  return [Math.min(lo, OW), Math.max(Math.min(lo, OW), hi)];
}

export function im2col(x: View, g: Conv2dGeometry, n0: number, nb: number, cols: TypedArray): void {
  const { C, H, W, kh, kw, sh, sw, padTop, padLeft, dh, dw, OH, OW } = g;
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const xd = x.data, L = OH * OW, ld = nb * L;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const row = ((c * kh + i) * kw + j) * ld;
        const start = j * dw - padLeft;
        const [lo, hi] = validRange(OW, sw, start, W);
        for (let n = 0; n < nb; n++) {
          const xn = x.offset + (n0 + n) * sN + c * sC;
          let o = row + n * L;
          for (let oh = 0; oh < OH; oh++, o += OW) {
            const ih = oh * sh - padTop + i * dh;
            if (ih < 0 || ih >= H) { cols.fill(0, o, o + OW); continue; }
            const xr = xn + ih * sH + start * sW;
            for (let ow = 0; ow < lo; ow++) cols[o + ow] = 0;
            if (sw === 1 && sW === 1) for (let ow = lo; ow < hi; ow++) cols[o + ow] = xd[xr + ow]!;
            else for (let ow = lo; ow < hi; ow++) cols[o + ow] = xd[xr + ow * sw * sW]!;
            for (let ow = hi; ow < OW; ow++) cols[o + ow] = 0;
          }
        }
      }
    }
  }
}

export function col2im(cols: TypedArray, g: Conv2dGeometry, n0: number, nb: number, out: TypedArray): void {
  const { C, H, W, kh, kw, sh, sw, padTop, padLeft, dh, dw, OH, OW } = g;
  const L = OH * OW, ld = nb * L, plane = H * W;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const row = ((c * kh + i) * kw + j) * ld;
        const start = j * dw - padLeft;
        const [lo, hi] = validRange(OW, sw, start, W);
        for (let n = 0; n < nb; n++) {
          const on = ((n0 + n) * C + c) * plane;
          let o = row + n * L;
          for (let oh = 0; oh < OH; oh++, o += OW) {
            const ih = oh * sh - padTop + i * dh;
            if (ih < 0 || ih >= H) continue;
            const orow = on + ih * W + start;
            if (sw === 1) for (let ow = lo; ow < hi; ow++) out[orow + ow]! += cols[o + ow]!;
            else for (let ow = lo; ow < hi; ow++) out[orow + ow * sw]! += cols[o + ow]!;
          }
        }
      }
    }
  }
}
