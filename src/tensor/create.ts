/** Creation functions: from JS data, constant fills, ranges and seeded random values. */
import { type DType, type TypedArray, allocate, dtypeOf, isDType, isFloat } from './dtype.js';
import { Generator, defaultGenerator } from './random.js';
import { type Shape, checkShape, fmt, numel } from './shape.js';
import { Tensor } from './tensor.js';
import { hostStep } from './trace.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}
export type NestedArray = number | boolean | readonly NestedArray[];

function finish(t: Tensor, opts: CreateOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

function dtypeOpt(opts: CreateOptions | undefined, fallback: DType, op: string): DType {
  const d = opts?.dtype ?? fallback;
  if (!isDType(d)) throw new Error(`${op}: unknown dtype '${String(d)}' (expected float32, float64, int32 or bool)`);
  return d;
}

const toShape = (shape: Shape | number, op: string): number[] => {
  const s = typeof shape === 'number' ? [shape] : [...shape];
  checkShape(s, op);
  return s;
};

function nestedShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as NestedArray;
    if (cur === undefined) break;
  }
  return shape;
}

function flattenInto(data: NestedArray, shape: readonly number[], depth: number, out: TypedArray, at: { i: number }, path: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean') throw new Error(`tensor: element at [${path.join(', ')}] is ${Array.isArray(data) ? 'an array' : typeof data}, expected a number`);
    out[at.i++] = typeof data === 'boolean' ? (data ? 1 : 0) : data;
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tensor: ragged nested array at [${path.join(', ')}]: expected length ${shape[depth]}, got ${Array.isArray(data) ? data.length : 'a scalar'}`);
  }
  data.forEach((d, k) => flattenInto(d, shape, depth + 1, out, at, [...path, k]));
}

function firstLeaf(data: NestedArray): unknown {
  let cur: unknown = data;
  while (Array.isArray(cur)) cur = cur[0];
  return cur;
}

/**
 * A tensor from a number, nested arrays, or a TypedArray (with `shape`). Numbers default to float32,
 * booleans to bool, TypedArrays keep their type unless `dtype` says otherwise. The data is copied.
 */
export function tensor(data: NestedArray | TypedArray, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const shape = opts.shape ? toShape(opts.shape, 'tensor') : [data.length];
    if (numel(shape) !== data.length) throw new Error(`tensor: shape ${fmt(shape)} needs ${numel(shape)} elements, but the array has ${data.length}`);
    const dtype = dtypeOpt(opts, dtypeOf(data), 'tensor');
    const arr = allocate(dtype, data.length);
    if (dtype === 'bool') for (let i = 0; i < data.length; i++) arr[i] = data[i] ? 1 : 0;
    else arr.set(data as never);
    return finish(new Tensor(arr, shape), opts);
  }
  const shape = nestedShape(data);
  const leaf = firstLeaf(data);
  const dtype = dtypeOpt(opts, typeof leaf === 'boolean' ? 'bool' : 'float32', 'tensor');
  const arr = allocate(dtype, numel(shape));
  flattenInto(data, shape, 0, arr, { i: 0 }, []);
  const t = new Tensor(arr, shape);
  if (opts.shape) {
    if (numel(opts.shape) !== t.size) throw new Error(`tensor: shape ${fmt(opts.shape)} does not match ${t.size} elements`);
    return finish(new Tensor(arr, opts.shape), opts);
  }
  return finish(t, opts);
}

function filled(shape: Shape | number, value: number, opts: CreateOptions | undefined, op: string): Tensor {
  const s = toShape(shape, op);
  const arr = allocate(dtypeOpt(opts, 'float32', op), numel(s));
  if (value !== 0) arr.fill(value);
  return finish(new Tensor(arr, s), opts);
}

export const full = (shape: Shape | number, value: number, opts?: CreateOptions): Tensor => filled(shape, value, opts, 'full');
export const zeros = (shape: Shape | number, opts?: CreateOptions): Tensor => filled(shape, 0, opts, 'zeros');
export const ones = (shape: Shape | number, opts?: CreateOptions): Tensor => filled(shape, 1, opts, 'ones');

/** Values from start (inclusive) to end (exclusive) by step; arange(n) counts 0..n-1. */
export function arange(start: number, end?: number, step = 1, opts?: CreateOptions): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0) throw new Error('arange: step must be non-zero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const arr = allocate(dtypeOpt(opts, 'float32', 'arange'), n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return finish(new Tensor(arr, [n]), opts);
}

export function linspace(start: number, end: number, steps: number, opts?: CreateOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`linspace: steps must be a non-negative integer, got ${steps}`);
  const arr = allocate(dtypeOpt(opts, 'float32', 'linspace'), steps);
  const h = steps > 1 ? (end - start) / (steps - 1) : 0;
  // as PyTorch: the second half is computed from the end, so both endpoints are exact
  for (let i = 0; i < steps; i++) arr[i] = i < steps / 2 ? start + i * h : end - (steps - 1 - i) * h;
  return finish(new Tensor(arr, [steps]), opts);
}

export function eye(n: number, m = n, opts?: CreateOptions): Tensor {
  const arr = allocate(dtypeOpt(opts, 'float32', 'eye'), n * m);
  for (let i = 0; i < Math.min(n, m); i++) arr[i * m + i] = 1;
  return finish(new Tensor(arr, [n, m]), opts);
}

function randomFill(shape: Shape | number, opts: RandomOptions | undefined, op: string, draw: (g: Generator) => number): Tensor {
  const s = toShape(shape, op);
  const dtype = dtypeOpt(opts, 'float32', op);
  if (!isFloat(dtype)) throw new Error(`${op}: dtype must be floating point, got ${dtype}`);
  const g = opts?.generator ?? defaultGenerator;
  const arr = allocate(dtype, numel(s));
  hostStep(() => { for (let i = 0; i < arr.length; i++) arr[i] = draw(g); }, []); // a compiled step draws again
  return finish(new Tensor(arr, s), opts);
}

/** Uniform on [0, 1). */
export const rand = (shape: Shape | number, opts?: RandomOptions): Tensor => randomFill(shape, opts, 'rand', (g) => g.random());
/** Standard normal. */
export const randn = (shape: Shape | number, opts?: RandomOptions): Tensor => randomFill(shape, opts, 'randn', (g) => g.normal());

/** Uniform integers in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: Shape | number, opts?: RandomOptions): Tensor {
  if (!(high > low)) throw new Error(`randint: high (${high}) must be greater than low (${low})`);
  const s = toShape(shape, 'randint');
  const g = opts?.generator ?? defaultGenerator;
  const arr = allocate(dtypeOpt(opts, 'int32', 'randint'), numel(s));
  hostStep(() => { for (let i = 0; i < arr.length; i++) arr[i] = g.randint(low, high); }, []); // a compiled step draws again
  return finish(new Tensor(arr, s), opts);
}

/** A random permutation of 0..n-1 (Fisher–Yates), int32. */
export function randperm(n: number, opts?: RandomOptions): Tensor {
  const g = opts?.generator ?? defaultGenerator;
  const arr = new Int32Array(n);
  for (let i = 0; i < n; i++) arr[i] = i;
  g.shuffle(arr);
  return new Tensor(arr, [n]);
}

const like = (x: Tensor, opts?: CreateOptions): CreateOptions => ({ dtype: opts?.dtype ?? x.dtype, requiresGrad: opts?.requiresGrad ?? false });
export const zerosLike = (x: Tensor, opts?: CreateOptions): Tensor => zeros(x.shape, like(x, opts));
export const onesLike = (x: Tensor, opts?: CreateOptions): Tensor => ones(x.shape, like(x, opts));
export const fullLike = (x: Tensor, value: number, opts?: CreateOptions): Tensor => full(x.shape, value, like(x, opts));
export const randLike = (x: Tensor, opts?: RandomOptions): Tensor => rand(x.shape, { ...opts, ...like(x, opts) });
export const randnLike = (x: Tensor, opts?: RandomOptions): Tensor => randn(x.shape, { ...opts, ...like(x, opts) });
export const randintLike = (x: Tensor, low: number, high: number, opts?: RandomOptions): Tensor => randint(low, high, x.shape, { ...opts, dtype: opts?.dtype ?? x.dtype });
