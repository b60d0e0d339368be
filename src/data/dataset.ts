/** Datasets: anything with a length and an indexed `get`, as torch.utils.data.Dataset. */
import { indexSelect, select } from '../ops/shape.js';
import { allocateUninitialized } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** A map-style dataset: `length` samples, sample i from `get(i)`. */
export interface Dataset<T = unknown> {
  readonly length: number;
  get(index: number): T;
  /**
   * Optional fast path: the already collated batch for these indices (one gather per stored tensor
   * instead of one tensor per sample). DataLoader uses it when no custom `collate` is given, with its
   * `reuseBuffers` option passed on (see BatchOptions).
   */
  getBatch?(indices: Int32Array, opts?: BatchOptions): T;
  /**
   * Optional hint: getBatch will soon be called with these indices, so the dataset may start assembling that batch
   * in the background (MNIST does on the wasm backend, on a worker thread). DataLoader calls it with the next
   * batch's indices before it hands out the current one. It must not change what getBatch returns.
   */
  prefetchBatch?(indices: Int32Array, opts?: BatchOptions): void;
}

/** How a dataset may assemble a batch (DataLoader's options, passed on to getBatch). */
export interface BatchOptions {
  /**
   * The batch may be written into storage the dataset reuses for later batches (MNIST: four buffers in turn, which on
   * the wasm backend live in its memory), instead of fresh arrays: it stays valid while the next two batches are
   * drawn from the dataset. Datasets without such buffers ignore it. prefetchBatch gets it too, so that the next
   * batch can be assembled straight into the storage getBatch will use.
   */
  reuseBuffers?: boolean;
}

export function checkIndex(index: number, length: number, op: string): number {
  if (!Number.isInteger(index)) throw new Error(`${op}: index must be an integer, got ${index}`);
  const i = index < 0 ? index + length : index;
  if (i < 0 || i >= length) throw new Error(`${op}: index ${index} is out of range for a dataset of length ${length}`);
  return i;
}

/** Samples are the rows (dim 0) of tensors that share their first dimension, as torch TensorDataset. */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new Error('TensorDataset: needs at least one tensor');
    tensors.forEach((t, k) => {
      if (!(t instanceof Tensor)) throw new Error(`TensorDataset: argument ${k} is not a Tensor`);
      if (t.ndim === 0) throw new Error(`TensorDataset: tensor ${k} is a scalar; samples are taken along dim 0`);
    });
    const n = tensors[0]!.shape[0]!;
    const bad = tensors.findIndex((t) => t.shape[0] !== n);
    if (bad >= 0) {
      throw new Error(`TensorDataset: size mismatch between tensors along dim 0: ${tensors.map((t) => fmt(t.shape)).join(', ')}`);
    }
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0]!.shape[0]!;
  }

  get(index: number): Tensor[] {
    const i = checkIndex(index, this.length, 'TensorDataset.get');
    return this.tensors.map((t) => select(t, 0, i));
  }

  /**
   * Rows `indices` of every tensor, gathered at once: contiguous stored tensors by copying whole rows
   * (about 10× faster than a per-element gather on MNIST), others (and tensors in a graph) by indexSelect.
   */
  getBatch(indices: Int32Array): Tensor[] {
    const n = this.length;
    for (const i of indices) checkIndex(i, n, 'TensorDataset.getBatch');
    return this.tensors.map((t) => (t.isContiguous() && !t.requiresGrad && t.gradFn === null ? takeRows(t, indices) : indexSelectRows(t, indices, n)));
  }
}

function takeRows(t: Tensor, indices: Int32Array): Tensor {
  const row = t.shape.slice(1).reduce((p, d) => p * d, 1);
  const out = allocateUninitialized(t.dtype, indices.length * row); // every row is written
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]! < 0 ? indices[k]! + t.shape[0]! : indices[k]!;
    const start = t.offset + i * row;
    out.set(t.data.subarray(start, start + row) as never, k * row);
  }
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
}

function indexSelectRows(t: Tensor, indices: Int32Array, n: number): Tensor {
  return indexSelect(t, 0, new Tensor(indices.map((i) => (i < 0 ? i + n : i)), [indices.length]));
}

/** The samples of `dataset` at `indices`, as torch.utils.data.Subset. */
export class Subset<T> implements Dataset<T> {
  readonly indices: Int32Array;
  readonly getBatch?: (indices: Int32Array, opts?: BatchOptions) => T;
  readonly prefetchBatch?: (indices: Int32Array, opts?: BatchOptions) => void;

  constructor(readonly dataset: Dataset<T>, indices: ArrayLike<number>) {
    this.indices = Int32Array.from(indices, (i) => checkIndex(i, dataset.length, 'Subset'));
    if (dataset.getBatch) {
      const inner = dataset.getBatch.bind(dataset);
      this.getBatch = (idx: Int32Array, opts?: BatchOptions): T => inner(this.outer(idx, 'Subset.getBatch'), opts);
    }
    if (dataset.getBatch && dataset.prefetchBatch) {
      const inner = dataset.prefetchBatch.bind(dataset);
      this.prefetchBatch = (idx: Int32Array, opts?: BatchOptions): void => inner(this.outer(idx, 'Subset.prefetchBatch'), opts);
    }
  }

  /** The underlying dataset's indices of subset indices idx. */
  private outer(idx: Int32Array, op: string): Int32Array {
    return idx.map((i) => this.indices[checkIndex(i, this.indices.length, op)]!);
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    return this.dataset.get(this.indices[checkIndex(index, this.indices.length, 'Subset.get')]!);
  }
}
