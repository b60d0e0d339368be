/** Reference pooling kernels over NCHW planes: max with argmax indices, windowed average and its adjoint. */
import type { TypedArray } from '../../tensor/dtype.js';
import type { Conv2dGeometry, PoolWindows, View } from '../backend.js';

export function maxPool2d(x: View, g: Conv2dGeometry, out: TypedArray, indices: Int32Array): void {
  const { N, C, H, W, kh, kw, sh, sw, padTop, padLeft, dh, dw, OH, OW } = g;
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const xd = x.data;
  if (padTop === 0 && padLeft === 0 && (OH - 1) * sh + (kh - 1) * dh < H && (OW - 1) * sw + (kw - 1) * dw < W) {
    maxPoolInside(x, g, out, indices);
    return;
  }
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = x.offset + n * sN + c * sC;
      for (let oh = 0; oh < OH; oh++) {
        // the first in-bounds kernel row and the row past the last one
        const h0 = oh * sh - padTop;
        let i0 = 0;
        while (i0 < kh && h0 + i0 * dh < 0) i0++;
        let i1 = kh;
        while (i1 > i0 && h0 + (i1 - 1) * dh >= H) i1--;
        for (let ow = 0; ow < OW; ow++, o++) {
          const w0 = ow * sw - padLeft;
          let j0 = 0;
          while (j0 < kw && w0 + j0 * dw < 0) j0++;
          let j1 = kw;
          while (j1 > j0 && w0 + (j1 - 1) * dw >= W) j1--;
          let best = -Infinity, bi = (h0 + i0 * dh) * W + w0 + j0 * dw;
          for (let i = i0; i < i1; i++) {
            const ih = h0 + i * dh, rowp = base + ih * sH;
            for (let j = j0; j < j1; j++) {
              const iw = w0 + j * dw, v = xd[rowp + iw * sW]!;
              if (v > best || v !== v) { best = v; bi = ih * W + iw; } // NaN propagates, as PyTorch
            }
          }
          out[o] = best;
          indices[o] = bi;
        }
      }
    }
  }
}

/** Every window inside the image (no padding, no partial ceil-mode window): no bounds to clip. */
function maxPoolInside(x: View, g: Conv2dGeometry, out: TypedArray, indices: Int32Array): void {
  const { N, C, W, kh, kw, sh, sw, dh, dw, OH, OW } = g;
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const xd = x.data;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = x.offset + n * sN + c * sC;
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * sh;
        for (let ow = 0; ow < OW; ow++, o++) {
          const w0 = ow * sw;
          let best = -Infinity, bi = h0 * W + w0;
          for (let i = 0; i < kh; i++) {
            const ih = h0 + i * dh, rowp = base + ih * sH;
            for (let j = 0; j < kw; j++) {
              const iw = w0 + j * dw, v = xd[rowp + iw * sW]!;
              if (v > best || v !== v) { best = v; bi = ih * W + iw; }
            }
          }
          out[o] = best;
          indices[o] = bi;
        }
      }
    }
  }
}

export function maxPool2dBackward(g: View, indices: Int32Array, H: number, W: number, out: TypedArray): void {
  const [N, C, OH, OW] = g.shape as [number, number, number, number];
  const [sN, sC, sH, sW] = g.strides as [number, number, number, number];
  const gd = g.data, plane = H * W;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const gb = g.offset + n * sN + c * sC, ob = (n * C + c) * plane;
      out.fill(0, ob, ob + plane);
      for (let oh = 0; oh < OH; oh++) {
        const gr = gb + oh * sH;
        for (let ow = 0; ow < OW; ow++, o++) out[ob + indices[o]!]! += gd[gr + ow * sW]!;
      }
    }
  }
}

export function avgPool2d(x: View, rows: PoolWindows, cols: PoolWindows, out: TypedArray): void {
  const [N, C] = x.shape as [number, number];
  const [sN, sC, sH, sW] = x.strides as [number, number, number, number];
  const OH = rows.start.length, OW = cols.start.length, xd = x.data;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = x.offset + n * sN + c * sC;
      for (let oh = 0; oh < OH; oh++) {
        const r0 = rows.start[oh]!, r1 = rows.end[oh]!, rc = rows.count[oh]!;
        for (let ow = 0; ow < OW; ow++, o++) {
          const c0 = cols.start[ow]!, c1 = cols.end[ow]!;
          let s = 0;
          for (let h = r0; h < r1; h++) {
            const p = base + h * sH;
            for (let w = c0; w < c1; w++) s += xd[p + w * sW]!;
          }
          out[o] = s / (rc * cols.count[ow]!);
        }
      }
    }
  }
}

export function avgPool2dBackward(g: View, rows: PoolWindows, cols: PoolWindows, H: number, W: number, out: TypedArray): void {
  const [N, C] = g.shape as [number, number];
  const [sN, sC, sH, sW] = g.strides as [number, number, number, number];
  const OH = rows.start.length, OW = cols.start.length, gd = g.data;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const gb = g.offset + n * sN + c * sC, ob = (n * C + c) * H * W;
      for (let oh = 0; oh < OH; oh++) {
        const r0 = rows.start[oh]!, r1 = rows.end[oh]!, rc = rows.count[oh]!;
        for (let ow = 0; ow < OW; ow++) {
          const c0 = cols.start[ow]!, c1 = cols.end[ow]!;
          const v = gd[gb + oh * sH + ow * sW]! / (rc * cols.count[ow]!);
          for (let h = r0; h < r1; h++) {
            const p = ob + h * W;
            for (let w = c0; w < c1; w++) out[p + w]! += v;
          }
        }
      }
    }
  }
}
