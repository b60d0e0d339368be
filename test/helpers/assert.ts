/**
 * Numeric assertions shared by the test files: elementwise closeness with a message that names the
 * worst element, for Tensors, TypedArrays and (nested) arrays.
 */
import assert from 'node:assert/strict';
import { Tensor } from '../../src/index.js';

export interface Tolerance {
  /** Relative tolerance: |actual − expected| ≤ atol + rtol·|expected|. */
  rtol?: number;
  atol?: number;
}

export type Numeric = Tensor | ArrayLike<number> | number | boolean | readonly Numeric[];

/** Flat row-major numbers of a tensor, typed array, nested array or scalar (booleans become 0/1). */
export function flat(x: Numeric): number[] {
  if (x instanceof Tensor) return Array.from(x.dataSync(), Number);
  if (typeof x === 'number') return [x];
  if (typeof x === 'boolean') return [x ? 1 : 0];
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (ArrayBuffer.isView(v)) out.push(...Array.from(v as unknown as ArrayLike<number>, Number));
    else if (typeof v === 'boolean') out.push(v ? 1 : 0);
    else out.push(v as number);
  };
  walk(x);
  return out;
}

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
  /** |actual − expected| / (atol + rtol·|expected|): above 1 fails. */
  ratio: number;
}

/** The worst element of a comparison (null when the sizes differ). NaN matches NaN; ±Infinity must match exactly. */
export function worstMismatch(actual: readonly number[], expected: readonly number[], tol: Tolerance = {}): Mismatch | null {
  const rtol = tol.rtol ?? 1e-6, atol = tol.atol ?? 1e-9;
  if (actual.length !== expected.length) return null;
  let worst: Mismatch = { index: -1, actual: NaN, expected: NaN, ratio: 0 };
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    let ratio: number;
    if (Number.isNaN(e) || Number.isNaN(a)) ratio = Number.isNaN(e) && Number.isNaN(a) ? 0 : Infinity;
    else if (!Number.isFinite(e) || !Number.isFinite(a)) ratio = a === e ? 0 : Infinity;
    else ratio = Math.abs(a - e) / (atol + rtol * Math.abs(e));
    if (ratio > worst.ratio || worst.index < 0) worst = { index: i, actual: a, expected: e, ratio };
  }
  return worst;
}

/** Throws (AssertionError) unless actual and expected have equal sizes and agree elementwise within tol. */
export function assertClose(actual: Numeric, expected: Numeric, tol: Tolerance = {}, what = 'value'): void {
  if (actual instanceof Tensor && expected instanceof Tensor) {
    assert.deepEqual(actual.shape, expected.shape, `${what}: shape ${fmt(actual.shape)} differs from ${fmt(expected.shape)}`);
  }
  const a = flat(actual), e = flat(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} elements, expected ${e.length}`);
  const w = worstMismatch(a, e, tol);
  if (w && w.ratio > 1) {
    assert.fail(`${what}: element ${w.index} is ${w.actual}, expected ${w.expected} ` +
      `(|diff| ${Math.abs(w.actual - w.expected).toExponential(2)}, rtol ${tol.rtol ?? 1e-6}, atol ${tol.atol ?? 1e-9})`);
  }
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;
