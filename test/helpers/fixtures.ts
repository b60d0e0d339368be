/**
 * Loading PyTorch fixtures (test/fixtures/<area>.json, written by scripts/fixtures/gen_<area>.py).
 * Non-finite numbers are stored as the strings "NaN", "Infinity" and "-Infinity" (JSON has no literals for them).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DType, Tensor, tensor } from '../../src/index.js';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

const cache = new Map<string, unknown>();

/** Parse test/fixtures/<name>.json once (cached), decoding the non-finite number strings. */
export function loadFixture<T = unknown>(name: string): T {
  if (!cache.has(name)) {
    const text = readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8');
    cache.set(name, JSON.parse(text, (_k, v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v)));
  }
  return cache.get(name) as T;
}

/** A tensor as stored in a fixture: flat row-major data plus shape and dtype. */
export interface StoredTensor {
  shape: number[];
  dtype: string;
  data: (number | boolean)[];
}

/** PyTorch dtype names (as the generators write them) to nabla dtypes; int64 maps to int32. */
export function nablaDType(torchName: string): DType {
  const name = torchName.replace(/^torch\./, '');
  switch (name) {
    case 'float32': case 'float': return 'float32';
    case 'float64': case 'double': return 'float64';
    case 'int32': case 'int64': case 'long': case 'int': return 'int32';
    case 'bool': return 'bool';
    default: throw new Error(`fixtures: unsupported dtype ${torchName}`);
  }
}

/** Build a nabla tensor from a stored one, optionally overriding the dtype. */
export function fromStored(s: StoredTensor, dtype?: DType, requiresGrad = false): Tensor {
  const data = s.data.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
  const dt = dtype ?? nablaDType(s.dtype);
  const t = tensor(Float64Array.from(data), { shape: s.shape, dtype: dt });
  if (requiresGrad) t.requiresGrad_(true);
  return t;
}
