/** The reference backend: plain TypeScript, the oracle every faster backend is tested against. */
import type { TypedArray } from '../../tensor/dtype.js';
import type { Backend, View } from '../backend.js';
import { binary, copy, unary, where } from './elementwise.js';
import { gemm } from './gemm.js';
import { col2im, im2col } from './conv.js';
import { batchNormBackward, batchNormStats, channelAffine } from './batchnorm.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool.js';
import { reduce } from './reduce.js';
import { gatherRowsU8 } from './data.js';

/** Offset in x of the element that index position `pos` (row-major over index.shape) selects. */
function gatherSources(x: View, dim: number, index: View, visit: (srcOffset: number, indexPos: number) => void): void {
  const nd = index.shape.length, n = index.shape.reduce((p, d) => p * d, 1);
  const idx = new Array<number>(nd).fill(0);
  const size = x.shape[dim]!;
  for (let pos = 0; pos < n; pos++) {
    let ip = index.offset, xp = x.offset;
    for (let d = 0; d < nd; d++) {
      ip += idx[d]! * index.strides[d]!;
      if (d !== dim) xp += idx[d]! * x.strides[d]!;
    }
    let k = index.data[ip]!;
    if (k < 0) k += size;
    if (k < 0 || k >= size || !Number.isInteger(k)) throw new Error(`gather: index ${index.data[ip]} is out of range for dim ${dim} of size ${size}`);
    visit(xp + k * x.strides[dim]!, pos);
    for (let d = nd - 1; d >= 0; d--) { if (++idx[d]! < index.shape[d]!) break; idx[d] = 0; }
  }
}

/**
 * gather's index_select case: a contiguous x and an index that varies along dim only (stride 0 elsewhere, as
 * indexSelect makes it) copy whole blocks of inner elements. False when the operands are not of that form.
 */
function selectRows(x: View, dim: number, index: View, out: TypedArray): boolean {
  const nd = x.shape.length;
  if (index.shape.length !== nd) return false;
  let inner = 1, dense = 1;
  for (let d = nd - 1; d >= 0; d--) {
    if (d !== dim && (index.strides[d] !== 0 || index.shape[d] !== x.shape[d])) return false;
    if (x.shape[d]! > 1 && x.strides[d] !== dense) return false;
    dense *= x.shape[d]!;
    if (d > dim) inner *= x.shape[d]!;
  }
  const size = x.shape[dim]!, m = index.shape[dim]!, step = index.strides[dim]!;
  let outer = 1;
  for (let d = 0; d < dim; d++) outer *= x.shape[d]!;
  for (let k = 0; k < m; k++) {
    const i = index.data[index.offset + k * step]!;
    if (!Number.isInteger(i) || i < -size || i >= size) return false; // the general path names the bad index
  }
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < m; k++) {
      const i = index.data[index.offset + k * step]!;
      const src = x.offset + (o * size + (i < 0 ? i + size : i)) * inner, dst = (o * m + k) * inner;
      if (inner >= 64) out.set(x.data.subarray(src, src + inner) as never, dst);
      else for (let j = 0; j < inner; j++) out[dst + j] = x.data[src + j]!;
    }
  }
  return true;
}

export const cpuBackend: Backend = {
  name: 'cpu',
  unary, binary, where, copy, reduce, gemm,
  im2col, col2im, maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
  batchNormStats, channelAffine, batchNormBackward, gatherRowsU8,
  gather(x: View, dim: number, index: View, out: TypedArray): void {
    if (!selectRows(x, dim, index, out)) gatherSources(x, dim, index, (src, pos) => { out[pos] = x.data[src]!; });
  },
  scatterAdd(out: TypedArray, outShape: readonly number[], dim: number, index: View, src: View): void {
    const strides: number[] = [];
    for (let i = outShape.length - 1, s = 1; i >= 0; i--) { strides[i] = s; s *= outShape[i]!; }
    const target: View = { data: out, shape: outShape, strides, offset: 0 };
    const srcIdx = new Array<number>(src.shape.length).fill(0);
    gatherSources(target, dim, index, (o, pos) => {
      let p = src.offset, rem = pos;
      for (let d = src.shape.length - 1; d >= 0; d--) { srcIdx[d] = rem % src.shape[d]!; rem = Math.floor(rem / src.shape[d]!); }
      for (let d = 0; d < src.shape.length; d++) p += srcIdx[d]! * src.strides[d]!;
      out[o]! += src.data[p]!;
    });
  },
};
