/**
 * TensorFlow.js on the benchmark's tasks: matmul GFLOP/s and the classic MLP epoch (tf.variableGrads + SGD),
 * on the pure-JS 'cpu' backend of @tensorflow/tfjs or on @tensorflow/tfjs-backend-wasm. Prints one JSON line.
 * Usage: node bench/peer-tfjs.mjs cpu|wasm [matmul sizes as MxKxN,...] [steps|epoch]
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadMnist, epochOrder, batch, peakRssMb, initWeights } from './mnist-raw.mjs';

const which = process.argv[2] ?? 'cpu';
const t0 = performance.now();
const tf = await import('@tensorflow/tfjs');
if (which === 'wasm') {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  wasm.setWasmPaths(join(dir, 'dist') + '/');
}
await tf.setBackend(which);
await tf.ready();
const importMs = performance.now() - t0;
const sizes = (process.argv[3] ?? '').split(',').filter(Boolean).map((s) => s.split('x').map(Number));
const steps = process.argv[4] === 'epoch' || !process.argv[4] ? Infinity : Number(process.argv[4]);
const out = { name: `tfjs-${which}`, importMs, matmul: {}, notes: [] };

for (const [M, K, N] of sizes) {
  const a = tf.randomUniform([M, K]), b = tf.randomUniform([K, N]);
  const run = () => { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); };
  // warm-up: calls for at least 0.3 s (see run.mjs: the first second of a process compiles in the background)
  for (let i = 0, w0 = performance.now(); i < 2 || performance.now() - w0 < 300; i++) run();
  const flops = 2 * M * N * K, reps = Math.max(2, Math.round((which === 'cpu' ? 1e8 : 5e8) / flops));
  const ts = [];
  for (let t = 0; t < 3; t++) { const s = performance.now(); for (let r = 0; r < reps; r++) run(); ts.push((performance.now() - s) / reps); }
  ts.sort((p, q) => p - q);
  out.matmul[`${M}x${K}x${N}`] = flops / ts[1] / 1e6;
  a.dispose(); b.dispose();
}

const data = loadMnist();
const init = initWeights();
// tf.layers.dense keeps kernels as [in, out]: transpose the shared [out, in] weights once
const w1 = tf.variable(tf.tensor2d(init.w1, [100, 784]).transpose()), b1 = tf.variable(tf.tensor1d(init.b1));
const w2 = tf.variable(tf.tensor2d(init.w2, [10, 100]).transpose()), b2 = tf.variable(tf.tensor1d(init.b2));
const vars = [w1, b1, w2, b2];
const lr = 0.1, B = 64;
const opt = tf.train.sgd(lr);
const forward = (x) => tf.sigmoid(tf.sigmoid(x.matMul(w1).add(b1)).matMul(w2).add(b2));
const nSteps = Math.min(Math.floor(data.nTrain / B), steps);
const order = epochOrder(data.nTrain, 1);
let loss = NaN;
const e0 = performance.now();
for (let s = 0; s < nSteps; s++) {
  const { x, y } = batch(data, order, s, B);
  const l = tf.tidy(() => {
    const xt = tf.tensor2d(x, [B, 784]), yt = tf.tensor2d(y, [B, 10]);
    return opt.minimize(() => tf.losses.logLoss(yt, forward(xt), undefined, 1e-7, tf.Reduction.MEAN), true, vars);
  });
  if (s === nSteps - 1) loss = l.dataSync()[0];
  l.dispose();
}
w1.dataSync();
const secs = (performance.now() - e0) / 1000;
out.mlp = { steps: nSteps, seconds: secs, epochSeconds: secs * Math.floor(data.nTrain / B) / nSteps, loss };
if (nSteps === Math.floor(data.nTrain / B)) {
  const pred = tf.tidy(() => forward(tf.tensor2d(data.testX, [data.nTest, 784])).argMax(1).dataSync());
  let correct = 0;
  for (let i = 0; i < data.nTest; i++) if (pred[i] === data.testY[i]) correct++;
  out.mlp.accuracy = correct / data.nTest;
}
out.peakRssMb = peakRssMb();
console.log(JSON.stringify(out));
