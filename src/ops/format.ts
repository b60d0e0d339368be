/** Reading values out of a tensor: flat copies, nested arrays, and PyTorch-style printing. */
import { backend } from '../backend/backend.js';
import type { TypedArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { empty } from './util.js';

/** A flat row-major copy of the elements. */
export function dataSync(x: Tensor): TypedArray {
  if (x.isContiguous()) return x.data.slice(x.offset, x.offset + x.size);
  const out = empty(x.shape, x.dtype);
  backend().copy(x, out);
  return out.data;
}

export type Nested = number | boolean | Nested[];

/** Nested JS arrays (numbers; booleans for bool tensors). */
export function toArray(x: Tensor): Nested {
  const flat = dataSync(x);
  const conv = x.dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  if (x.ndim === 0) return conv(flat[0]!);
  let at = 0;
  const build = (d: number): Nested[] => {
    const n = x.shape[d]!, out: Nested[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = d === x.ndim - 1 ? conv(flat[at++]!) : build(d + 1);
    return out;
  };
  return build(0);
}

/** Element formatter chosen from all values, the way PyTorch picks fixed or scientific notation. */
function formatter(vals: TypedArray, dtype: string): (v: number) => string {
  if (dtype === 'bool') return (v) => (v ? 'True' : 'False');
  if (dtype === 'int32') return (v) => String(v);
  const finite = Array.from(vals).filter(Number.isFinite).map(Math.abs);
  const nz = finite.filter((v) => v !== 0);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (finite.every(Number.isInteger)) {
    return (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  }
  const mx = Math.max(...nz), mn = Math.min(...nz);
  if (mx / mn > 1000 || mx > 1e8 || mn < 1e-4) return (v) => (Number.isFinite(v) ? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2') : special(v));
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

/** tensor([[1., 2.], [3., 4.]], requiresGrad=true), printed like PyTorch. */
export function format(x: Tensor): string {
  const flat = dataSync(x);
  const f = formatter(flat, x.dtype);
  const strs = Array.from(flat, (v) => f(v));
  const width = strs.reduce((w, s) => Math.max(w, s.length), 0);
  const pad = (s: string) => s.padStart(width);
  let at = 0;
  const indent = 'tensor('.length;
  const build = (d: number): string => {
    if (x.ndim === 0) return strs[0]!;
    const n = x.shape[d]!;
    if (d === x.ndim - 1) {
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(pad(strs[at++]!));
      return `[${items.join(', ')}]`;
    }
    const rows: string[] = [];
    for (let i = 0; i < n; i++) rows.push(build(d + 1));
    const sep = ',' + '\n'.repeat(x.ndim - 1 - d) + ' '.repeat(indent + d + 1);
    return `[${rows.join(sep)}]`;
  };
  const extras: string[] = [];
  if (x.dtype !== 'float32' && x.dtype !== 'bool') extras.push(`dtype=${x.dtype}`);
  if (x.gradFn) extras.push(`gradFn=<${x.gradFn.name}>`);
  else if (x.requiresGrad) extras.push('requiresGrad=true');
  return `tensor(${build(0)}${extras.length ? ', ' + extras.join(', ') : ''})`;
}
