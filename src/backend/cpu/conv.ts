/**
 * Reference im2col / col2im: the only raw loops of a convolution; the products themselves go through gemm.
 * im2col's cols is [C·kh·kw, nb·OH·OW]: one row per (channel, kernel tap), one column per (image, output position);
 * col2im's is image-major, [nb, C·kh·kw, OH·OW] (the same with one image, per image).
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
  const L = OH * OW, K = C * kh * kw, plane = H * W;
  for (let n = 0; n < nb; n++) {
    for (let c = 0; c < C; c++) {
      const on = ((n0 + n) * C + c) * plane;
      out.fill(0, on, on + plane);
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const start = j * dw - padLeft;
          const [lo, hi] = validRange(OW, sw, start, W);
          let o = (n * K + (c * kh + i) * kw + j) * L;
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

/**
 * The reference of the optional direct-convolution kernels (stride 1, no padding, no dilation; see backend.ts):
 * out [N, O, OH, OW] = conv(x, w) + bias. Not registered on the reference backend (im2col + gemm is its path);
 * the native backend's kernels are tested against it.
 */
export function conv2dDirect(x: View, w: View, bias: View | null, g: Conv2dGeometry, out: TypedArray): void {
  const { N, C, kh, kw, OH, OW } = g, O = w.shape[0]!;
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const [wO, wC, wH, wW] = w.strides as [number, number, number, number];
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < O; k++) {
      const b = bias ? bias.data[bias.offset + k * bias.strides[0]!]! : 0;
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++, o++) {
          let s = b;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                s += w.data[w.offset + k * wO + c * wC + i * wH + j * wW]! * x.data[x.offset + n * sN + c * sC + (oh + i) * sH + (ow + j) * sW]!;
              }
            }
          }
          out[o] = s;
        }
      }
    }
  }
}

/** The reference of conv2dDirectWeightGrad: gw [O, C, kh, kw] = Σ_{n, oh, ow} gy[n, o, oh, ow]·x[n, c, oh + i, ow + j], gb [O] = Σ gy. */
export function conv2dDirectWeightGrad(x: View, gy: View, g: Conv2dGeometry, gw: TypedArray, gb: TypedArray | null): void {
  const { N, C, kh, kw, OH, OW } = g, O = gy.shape[1]!;
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const [gN, gO, gH, gW] = gy.strides as [number, number, number, number];
  for (let k = 0; k < O; k++) {
    let sb = 0;
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          let s = 0;
          for (let n = 0; n < N; n++) {
            for (let oh = 0; oh < OH; oh++) {
              for (let ow = 0; ow < OW; ow++) {
                const gv = gy.data[gy.offset + n * gN + k * gO + oh * gH + ow * gW]!;
                s += gv * x.data[x.offset + n * sN + c * sC + (oh + i) * sH + (ow + j) * sW]!;
                if (c === 0 && i === 0 && j === 0) sb += gv;
              }
            }
          }
          gw[((k * C + c) * kh + i) * kw + j] = s;
        }
      }
    }
    if (gb) gb[k] = sb;
  }
}
