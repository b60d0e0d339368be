/**
 * DataLoader: batches of a dataset, optionally shuffled by a seeded generator, as torch DataLoader.
 * Iterate with `for…of` or `for await…of` (the async form yields to the event loop between batches).
 */
import { stack } from '../ops/shape.js';
import { randperm, tensor } from '../tensor/create.js';
import { Generator, defaultGenerator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { BatchOptions, Dataset } from './dataset.js';

const REUSE: BatchOptions = Object.freeze({ reuseBuffers: true });

export interface DataLoaderOptions<B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Draw a new random order at the start of every pass (default false). */
  shuffle?: boolean;
  /** The generator used for shuffling (default: the global one that `manualSeed` seeds). */
  generator?: Generator;
  /**
   * The sample order of every pass, as torch's `sampler`: indices into the dataset (an array, or any iterable, read
   * again at each pass). Excludes `shuffle`.
   */
  sampler?: Iterable<number>;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Merge a list of samples into a batch (default: `defaultCollate`). Disables the dataset's getBatch fast path. */
  collate?: (samples: unknown[]) => B;
  /**
   * Let the dataset write batches into storage it reuses (default false): faster, and no fresh arrays per batch, but a
   * batch's tensors are only valid while the next two batches are drawn from the same dataset (by any loader); clone()
   * what you keep longer. MNIST decodes
   * its images into four buffers in turn (on wasm in the backend's memory, where a worker decodes the next batch
   * straight into its buffer and a compiled step reads it in place); other datasets ignore it. `nabla train` uses it.
   */
  reuseBuffers?: boolean;
}

/**
 * Merge samples as torch's default_collate: tensors are stacked along a new dim 0, numbers become a 1-D
 * tensor (int32 when all are integers, else float32), arrays and plain objects are collated field by field.
 */
export function defaultCollate(samples: readonly unknown[]): unknown {
  if (samples.length === 0) throw new Error('defaultCollate: no samples');
  const first = samples[0];
  if (first instanceof Tensor) return stack(samples as Tensor[], 0);
  if (typeof first === 'number') {
    const nums = samples as number[];
    return tensor(nums, { dtype: nums.every(Number.isInteger) ? 'int32' : 'float32' });
  }
  if (typeof first === 'boolean') return tensor(samples as boolean[]);
  if (Array.isArray(first)) {
    const n = first.length;
    samples.forEach((s, k) => {
      if (!Array.isArray(s) || s.length !== n) throw new Error(`defaultCollate: sample ${k} has ${Array.isArray(s) ? s.length : 'no'} fields, sample 0 has ${n}`);
    });
    return first.map((_, j) => defaultCollate(samples.map((s) => (s as unknown[])[j])));
  }
  if (first !== null && typeof first === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) out[key] = defaultCollate(samples.map((s) => (s as Record<string, unknown>)[key]));
    return out;
  }
  throw new Error(`defaultCollate: cannot batch samples of type ${first === null ? 'null' : typeof first}; pass a collate function`);
}

export class DataLoader<B = Tensor[]> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: Dataset<unknown>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;
  readonly sampler?: Iterable<number>;
  readonly reuseBuffers: boolean;
  /** What getBatch and prefetchBatch are told (reuseBuffers), made once. */
  private readonly batchOptions: BatchOptions | undefined;
  private readonly collate?: (samples: unknown[]) => B;

  constructor(dataset: Dataset<unknown>, opts: DataLoaderOptions<B> = {}) {
    if (!dataset || typeof dataset.get !== 'function' || !Number.isInteger(dataset.length) || dataset.length < 0) {
      throw new Error('DataLoader: dataset must have an integer `length` and a `get(index)` method');
    }
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (opts.collate !== undefined && typeof opts.collate !== 'function') throw new Error('DataLoader: collate must be a function');
    if (opts.sampler !== undefined) {
      if (opts.sampler === null || typeof (opts.sampler as Iterable<number>)[Symbol.iterator] !== 'function') throw new Error('DataLoader: sampler must be an iterable of indices');
      if (opts.shuffle) throw new Error('DataLoader: sampler and shuffle exclude each other (shuffle the sampler instead)');
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator ?? defaultGenerator;
    this.sampler = opts.sampler;
    this.collate = opts.collate;
    this.reuseBuffers = opts.reuseBuffers ?? false;
    this.batchOptions = this.reuseBuffers ? REUSE : undefined;
  }

  /** Number of batches in one pass (len(loader)). */
  get length(): number {
    return this.batchCount(this.sampler ? samplerLength(this.sampler) : this.dataset.length);
  }

  /** Batches of a pass over n samples. */
  private batchCount(n: number): number {
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of one pass: the sampler's, 0..n-1, or a permutation drawn from the generator (randperm). */
  private order(): Int32Array {
    const n = this.dataset.length;
    if (this.sampler) {
      let order: Int32Array;
      if (this.sampler instanceof Int32Array) {
        order = this.sampler;
      } else {
        const values = Array.from(this.sampler);
        const bad = values.findIndex((v) => !Number.isInteger(v));
        if (bad >= 0) throw new Error(`DataLoader: sampler gave ${values[bad]} at position ${bad}; indices must be integers`);
        order = Int32Array.from(values);
      }
      const k = order.findIndex((i) => i < -n || i >= n);
      if (k >= 0) throw new Error(`DataLoader: sampler index ${order[k]} (position ${k}) is out of range for a dataset of ${n} samples`);
      return order;
    }
    if (this.shuffle) return randperm(n, { generator: this.generator }).data as Int32Array;
    const arr = new Int32Array(n);
    for (let i = 0; i < n; i++) arr[i] = i;
    return arr;
  }

  /** The index lists of one pass; the random order is drawn when this is called. */
  *batchIndices(): Generator_<Int32Array> {
    const order = this.order();
    const count = this.batchCount(order.length);
    for (let b = 0; b < count; b++) yield order.subarray(b * this.batchSize, Math.min(order.length, (b + 1) * this.batchSize));
  }

  private fetch(indices: Int32Array): B {
    const ds = this.dataset;
    if (!this.collate && ds.getBatch) return ds.getBatch(indices, this.batchOptions) as B;
    const samples = Array.from(indices, (i) => ds.get(i));
    return this.collate ? this.collate(samples) : (defaultCollate(samples) as B);
  }

  /**
   * The batches of one pass, each with the next one's indices handed to the dataset's `prefetchBatch` (when it has
   * one and getBatch is used) before it is given out, so that the dataset can assemble it meanwhile.
   */
  private *batches(): Generator_<[Int32Array, Int32Array | undefined]> {
    const ds = this.dataset;
    const ahead = !this.collate && !!ds.getBatch && !!ds.prefetchBatch;
    const it = this.batchIndices();
    let cur = it.next();
    while (!cur.done) {
      const next = it.next();
      yield [cur.value, ahead && !next.done ? next.value : undefined];
      cur = next;
    }
  }

  *[Symbol.iterator](): Generator_<B> {
    for (const [idx, next] of this.batches()) {
      const b = this.fetch(idx);
      if (next) this.dataset.prefetchBatch!(next, this.batchOptions);
      yield b;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<B> {
    for (const [idx, next] of this.batches()) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const b = this.fetch(idx);
      if (next) this.dataset.prefetchBatch!(next, this.batchOptions);
      yield b;
    }
  }
}

/** Samples a sampler gives in one pass (its length when it has one). */
function samplerLength(sampler: Iterable<number>): number {
  const n = (sampler as { length?: unknown }).length;
  if (typeof n === 'number') return n;
  let k = 0;
  for (const _ of sampler) k++;
  return k;
}

/** The built-in Generator type (our `Generator` class shadows its name in this file). */
type Generator_<T> = globalThis.Generator<T, void, undefined>;
