/** The reference backend: plain TypeScript, the oracle every faster backend is tested against. */
import type { TypedArray } from '../../tensor/dtype.js';
import type { Backend, View } from '../backend.js';
import { binary, copy, unary, where } from './elementwise.js';
import { gemm } from './gemm.js';
import { col2im, im2col } from './conv.js';
import { batchNormBackward, batchNormStats, channelAffine } from './batchnorm.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool.js';
import { reduce } from './reduce.js';

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

export const cpuBackend: Backend = {
  name: 'cpu',
  unary, binary, where, copy, reduce, gemm,
  im2col, col2im, maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
  batchNormStats, channelAffine, batchNormBackward,
  gather(x: View, dim: number, index: View, out: TypedArray): void {
    gatherSources(x, dim, index, (src, pos) => { out[pos] = x.data[src]!; });
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
