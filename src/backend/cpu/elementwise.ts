/**
 * Reference elementwise kernels. Each op's loop is generated once from its scalar expression
 * (no per-element closures): a flat loop for contiguous operands, a row loop over strides otherwise.
 */
import type { TypedArray } from '../../tensor/dtype.js';
import type { BinaryOp, UnaryOp, View } from '../backend.js';

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit), good enough for float32 and GELU. */
export function erf(x: number): number {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erf to about 1e-14 relative, for float64 outputs: the Maclaurin series below 3, and above it 1 − erfc with
 * erfc(x) = e^(−x²) / (√π · K), K = x + (1/2)/(x + 1/(x + (3/2)/(x + …))) evaluated by Lentz's method.
 */
export function erfExact(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    // erf a = 2/√π · Σ (−1)ⁿ a²ⁿ⁺¹ / (n! (2n+1))
    const a2 = a * a;
    let term = a, sum = a;
    for (let n = 1; n < 100; n++) {
      term *= -a2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) <= 1e-17 * sum) break;
    }
    r = TWO_OVER_SQRT_PI * sum;
  } else if (a < 6) {
    let k = a, c = a, d = 0;
    for (let n = 1; n < 300; n++) {
      d = 1 / (a + (n / 2) * d);
      c = a + n / 2 / c;
      const delta = c * d;
      k *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * k);
  } else {
    r = Number.isNaN(a) ? NaN : 1;
  }
  return x < 0 ? -r : r;
}

/** Round half to even, as PyTorch does. */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

const UNARY: Record<UnaryOp, string> = {
  neg: '-x', exp: 'Math.exp(x)', log: 'Math.log(x)', sqrt: 'Math.sqrt(x)', abs: 'Math.abs(x)',
  sigmoid: '1 / (1 + Math.exp(-x))', tanh: 'Math.tanh(x)', relu: 'x < 0 ? 0 : x', sign: 'Math.sign(x)',
  reciprocal: '1 / x', sin: 'Math.sin(x)', cos: 'Math.cos(x)', erf: 'erf(x)', floor: 'Math.floor(x)',
  ceil: 'Math.ceil(x)', round: 'roundEven(x)', not: 'x ? 0 : 1', isnan: 'x !== x ? 1 : 0',
};

const BINARY: Record<BinaryOp, string> = {
  add: 'a + b', sub: 'a - b', mul: 'a * b', div: 'a / b', pow: 'Math.pow(a, b)',
  maximum: '(a > b || a !== a) ? a : b', minimum: '(a < b || a !== a) ? a : b',
  eq: 'a === b ? 1 : 0', ne: 'a !== b ? 1 : 0', lt: 'a < b ? 1 : 0', le: 'a <= b ? 1 : 0',
  gt: 'a > b ? 1 : 0', ge: 'a >= b ? 1 : 0', and: '(a && b) ? 1 : 0', or: '(a || b) ? 1 : 0',
};

type Loop = (...args: unknown[]) => void;

/** Advance an N-d row counter: shared by all generated loops (dims 0..nd-2, the last dim is the row). */
const STEP = (bases: string[], strides: string[]): string => `
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      ${bases.map((b, k) => `${b} += ${strides[k]}[d];`).join(' ')}
      if (idx[d] < shape[d]) break;
      ${bases.map((b, k) => `${b} -= ${strides[k]}[d] * shape[d];`).join(' ')}
      idx[d] = 0;
    }`;

function compileUnary(expr: string): Loop {
  const body = `
    const n = out.length, nd = shape.length;
    if (contig) { for (let i = 0; i < n; i++) { const x = xd[xo + i]; out[i] = ${expr}; } return; }
    if (n === 0) return;
    const inner = shape[nd - 1], sx = xs[nd - 1], idx = new Array(nd).fill(0);
    let bx = xo, o = 0;
    for (let r = 0, rows = n / inner; r < rows; r++) {
      for (let i = 0, p = bx; i < inner; i++, p += sx) { const x = xd[p]; out[o++] = ${expr}; }
      ${STEP(['bx'], ['xs'])}
    }`;
  return new Function('erf', 'erfExact', 'roundEven', `return function unary(xd, xo, xs, shape, contig, out) {${body}}`)(erf, erfExact, roundEven) as Loop;
}

function compileBinary(expr: string): Loop {
  const body = `
    const n = out.length, nd = shape.length;
    if (mode === 1) { for (let i = 0; i < n; i++) { const a = ad[ao + i], b = bd[bo + i]; out[i] = ${expr}; } return; }
    if (mode === 2) { const b = bd[bo]; for (let i = 0; i < n; i++) { const a = ad[ao + i]; out[i] = ${expr}; } return; }
    if (mode === 3) { const a = ad[ao]; for (let i = 0; i < n; i++) { const b = bd[bo + i]; out[i] = ${expr}; } return; }
    if (n === 0) return;
    const inner = shape[nd - 1], sa = as[nd - 1], sb = bs[nd - 1], idx = new Array(nd).fill(0);
    let ba = ao, bb = bo, o = 0;
    for (let r = 0, rows = n / inner; r < rows; r++) {
      for (let i = 0, p = ba, q = bb; i < inner; i++, p += sa, q += sb) { const a = ad[p], b = bd[q]; out[o++] = ${expr}; }
      ${STEP(['ba', 'bb'], ['as', 'bs'])}
    }`;
  return new Function(`return function binary(ad, ao, as, bd, bo, bs, shape, mode, out) {${body}}`)() as Loop;
}

const whereLoop = new Function(`return function where(cd, co, cs, ad, ao, as, bd, bo, bs, shape, out) {
    const n = out.length, nd = shape.length;
    if (n === 0) return;
    if (nd === 0) { out[0] = cd[co] ? ad[ao] : bd[bo]; return; }
    const inner = shape[nd - 1], sc = cs[nd - 1], sa = as[nd - 1], sb = bs[nd - 1], idx = new Array(nd).fill(0);
    let bc = co, ba = ao, bb = bo, o = 0;
    for (let r = 0, rows = n / inner; r < rows; r++) {
      for (let i = 0, p = bc, q = ba, s = bb; i < inner; i++, p += sc, q += sa, s += sb) out[o++] = cd[p] ? ad[q] : bd[s];
      ${STEP(['bc', 'ba', 'bb'], ['cs', 'as', 'bs'])}
    }
  }`)() as Loop;

const copyLoop = new Function(`return function copy(sd, so, ss, dd, dO, ds, shape, n) {
    const nd = shape.length;
    if (n === 0) return;
    if (nd === 0) { dd[dO] = sd[so]; return; }
    const inner = shape[nd - 1], s1 = ss[nd - 1], d1 = ds[nd - 1], idx = new Array(nd).fill(0);
    let bs = so, bd = dO;
    for (let r = 0, rows = n / inner; r < rows; r++) {
      for (let i = 0, p = bs, q = bd; i < inner; i++, p += s1, q += d1) dd[q] = sd[p];
      ${STEP(['bs', 'bd'], ['ss', 'ds'])}
    }
  }`)() as Loop;

const unaryLoops = new Map<UnaryOp, Loop>();
const binaryLoops = new Map<BinaryOp, Loop>();

export function isContiguousView(v: View): boolean {
  let expected = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    const d = v.shape[i]!;
    if (d !== 1 && v.strides[i] !== expected) return false;
    expected *= d;
  }
  return true;
}

const isScalarView = (v: View): boolean => v.strides.every((s, i) => s === 0 || v.shape[i] === 1);

/** erf into float64 storage uses the exact series; float32 outputs keep the fast fit (error below float32's). */
let erfExactLoop: Loop | null = null;

export function unary(op: UnaryOp, x: View, out: TypedArray): void {
  if (op === 'erf' && out instanceof Float64Array) {
    erfExactLoop ??= compileUnary('erfExact(x)');
    erfExactLoop(x.data, x.offset, x.strides, x.shape, isContiguousView(x), out);
    return;
  }
  let loop = unaryLoops.get(op);
  if (!loop) unaryLoops.set(op, (loop = compileUnary(UNARY[op])));
  loop(x.data, x.offset, x.strides, x.shape, isContiguousView(x), out);
}

export function binary(op: BinaryOp, a: View, b: View, out: TypedArray): void {
  let loop = binaryLoops.get(op);
  if (!loop) binaryLoops.set(op, (loop = compileBinary(BINARY[op])));
  const ca = isContiguousView(a);
  const mode = ca && isContiguousView(b) ? 1 : ca && isScalarView(b) ? 2 : isScalarView(a) && isContiguousView(b) ? 3 : 0;
  loop(a.data, a.offset, a.strides, b.data, b.offset, b.strides, a.shape, mode, out);
}

export function where(cond: View, a: View, b: View, out: TypedArray): void {
  whereLoop(cond.data, cond.offset, cond.strides, a.data, a.offset, a.strides, b.data, b.offset, b.strides, a.shape, out);
}

export function copy(src: View, dst: View): void {
  let n = 1;
  for (const d of src.shape) n *= d;
  if (isContiguousView(src) && isContiguousView(dst) && src.data.constructor === dst.data.constructor) {
    (dst.data as Float64Array).set((src.data as Float64Array).subarray(src.offset, src.offset + n), dst.offset);
    return;
  }
  copyLoop(src.data, src.offset, src.strides, dst.data, dst.offset, dst.strides, src.shape, n);
}
