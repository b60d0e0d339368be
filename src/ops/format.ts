/** Reading values out of a tensor: flat copies, nested arrays, and PyTorch-style printing. */
import { backend } from '../backend/backend.js';
import type { TypedArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { noteUnsupported } from '../tensor/trace.js';
import { uninitialized } from './util.js';

/** A flat row-major copy of the elements. */
export function dataSync(x: Tensor): TypedArray {
  noteUnsupported('dataSync()');
  if (x.isContiguous()) return x.data.slice(x.offset, x.offset + x.size);
  const out = uninitialized(x.shape, x.dtype);
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

// ---------------------------------------------------------------- printing, as torch/_tensor_str.py

/** PyTorch's default print options. */
const PRINT = { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80 };

/** Python's '{:.{p}f}' / '{:.{p}e}': JS rounds exact ties away from zero, Python to even. */
function pyFixed(v: number, p: number): string {
  if (!Number.isFinite(v)) return special(v);
  const a = Math.abs(v), sign = v < 0 || Object.is(v, -0) ? '-' : '';
  let s = a.toFixed(p);
  if (a < 1e21) {
    const [int, frac = ''] = a.toFixed(100).split('.');
    if (isTie(frac.slice(p))) {
      const truncated = p ? `${int}.${frac.slice(0, p)}` : int!;
      if (Number(truncated.slice(-1)) % 2 === 0) s = truncated;
    }
  }
  return sign + s;
}

function pyExp(v: number, p: number): string {
  if (!Number.isFinite(v)) return special(v);
  const a = Math.abs(v), sign = v < 0 || Object.is(v, -0) ? '-' : '';
  let s = a.toExponential(p);
  const [mant, exp] = a.toExponential(100).split('e');
  const digits = mant!.replace('.', '');
  if (isTie(digits.slice(p + 1))) {
    const kept = digits.slice(0, p + 1);
    if (Number(kept.slice(-1)) % 2 === 0) s = `${kept[0]}${p ? '.' + kept.slice(1) : ''}e${exp}`;
  }
  return sign + s.replace(/e([+-])(\d)$/, 'e$10$2');
}

const isTie = (rest: string): boolean => rest.length > 0 && rest[0] === '5' && /^50*$/.test(rest);
const special = (v: number): string => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');

/** torch's _Formatter: one notation and width for all (summarized) values. */
class Formatter {
  private intMode = true;
  private sciMode = false;
  private maxWidth = 1;
  private readonly floating: boolean;

  constructor(values: readonly number[], private readonly dtype: string) {
    this.floating = dtype === 'float32' || dtype === 'float64';
    if (!this.floating) {
      for (const v of values) this.maxWidth = Math.max(this.maxWidth, this.plain(v).length);
      return;
    }
    const nz = values.filter((v) => Number.isFinite(v) && v !== 0);
    if (!nz.length) return;
    let mn = Infinity, mx = 0;
    for (const v of nz) { const a = Math.abs(v); if (a < mn) mn = a; if (a > mx) mx = a; }
    this.intMode = nz.every(Number.isInteger);
    if (this.intMode) {
      if (mx / mn > 1000 || mx > 1e8) this.sciMode = true;
    } else if (mx / mn > 1000 || mx > 1e8 || mn < 1e-4) {
      this.sciMode = true;
    }
    for (const v of nz) {
      const len = this.sciMode ? pyExp(v, PRINT.precision).length : this.intMode ? pyFixed(v, 0).length + 1 : pyFixed(v, PRINT.precision).length;
      this.maxWidth = Math.max(this.maxWidth, len);
    }
  }

  width(): number { return this.maxWidth; }

  private plain(v: number): string {
    return this.dtype === 'bool' ? (v ? 'True' : 'False') : String(v);
  }

  format(v: number): string {
    let s: string;
    if (!this.floating) s = this.plain(v);
    else if (this.sciMode) s = pyExp(v, PRINT.precision);
    else if (this.intMode) s = pyFixed(v, 0) + (Number.isFinite(v) ? '.' : '');
    else s = pyFixed(v, PRINT.precision);
    return s.padStart(this.maxWidth);
  }
}

type Values = number | Values[];

function nestedValues(x: Tensor): Values {
  const flat = dataSync(x);
  if (x.ndim === 0) return flat[0]!;
  let at = 0;
  const build = (d: number): Values[] => {
    const n = x.shape[d]!, out: Values[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = d === x.ndim - 1 ? flat[at++]! : build(d + 1);
    return out;
  };
  return build(0);
}

/** The values a summarized print shows: edgeitems from each end of every dim. */
function summarizedValues(v: Values, out: number[]): void {
  if (!Array.isArray(v)) { out.push(v); return; }
  const e = PRINT.edgeitems;
  const parts = v.length > 2 * e ? [...v.slice(0, e), ...v.slice(-e)] : v;
  for (const p of parts) summarizedValues(p, out);
}

function allValues(v: Values, out: number[]): void {
  if (Array.isArray(v)) for (const p of v) allValues(p, out);
  else out.push(v);
}

function vectorStr(v: number[], indent: number, summarize: boolean, f: Formatter): string {
  const perLine = Math.max(1, Math.floor((PRINT.linewidth - indent) / (f.width() + 2)));
  const e = PRINT.edgeitems;
  const data = summarize && v.length > 2 * e
    ? [...v.slice(0, e).map((x) => f.format(x)), ' ...', ...v.slice(-e).map((x) => f.format(x))]
    : v.map((x) => f.format(x));
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += perLine) lines.push(data.slice(i, i + perLine).join(', '));
  return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
}

function tensorStr(v: Values, ndim: number, indent: number, summarize: boolean, f: Formatter): string {
  if (!Array.isArray(v)) return f.format(v);
  if (ndim === 1) return vectorStr(v as number[], indent, summarize, f);
  const e = PRINT.edgeitems;
  const sub = (x: Values): string => tensorStr(x, ndim - 1, indent + 1, summarize, f);
  const slices = summarize && v.length > 2 * e ? [...v.slice(0, e).map(sub), '...', ...v.slice(-e).map(sub)] : v.map(sub);
  return `[${slices.join(',' + '\n'.repeat(ndim - 1) + ' '.repeat(indent + 1))}]`;
}

/**
 * tensor([[1., 2.], [3., 4.]], requiresGrad=true), printed as PyTorch prints it: shared notation and width,
 * 80-column lines, and summarized (…) above 1000 elements. int32 prints like PyTorch's default int64.
 */
export function format(x: Tensor): string {
  const prefix = 'tensor(', indent = prefix.length;
  const suffixes: string[] = [];
  let body: string;
  if (x.size === 0) {
    if (x.ndim !== 1) suffixes.push(`size=(${x.shape.join(', ')})`);
    if (x.dtype !== 'float32') suffixes.push(`dtype=${x.dtype}`);
    body = '[]';
  } else {
    if (x.dtype === 'float64') suffixes.push('dtype=float64');
    const values = nestedValues(x);
    const summarize = x.size > PRINT.threshold;
    const shown: number[] = [];
    if (summarize) summarizedValues(values, shown);
    else allValues(values, shown);
    body = tensorStr(values, x.ndim, indent, summarize, new Formatter(shown, x.dtype));
  }
  if (x.gradFn) suffixes.push(`gradFn=<${x.gradFn.name}>`);
  else if (x.requiresGrad) suffixes.push('requiresGrad=true');
  // as torch's _add_suffixes: a suffix that would pass column 80 goes on its own line
  let out = prefix + body;
  let lastLine = out.length - out.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (lastLine + s.length + 2 > PRINT.linewidth) {
      out += ',\n' + ' '.repeat(indent) + s;
      lastLine = indent + s.length;
    } else {
      out += ', ' + s;
      lastLine += s.length + 2;
    }
  }
  return out + ')';
}
