/**
 * jax-js (@jax-js/jax, wasm device) on the benchmark's tasks: matmul GFLOP/s and the classic MLP epoch
 * with a jit-compiled training step (value_and_grad + SGD inside one jit). Prints one JSON line.
 * Usage: node bench/peer-jax.mjs [matmul sizes as MxKxN,...] [steps|epoch]
 */
const t0 = performance.now();
const jax = await import('@jax-js/jax');
const importMs = performance.now() - t0;
import { loadMnist, epochOrder, batch, peakRssMb, initWeights } from './mnist-raw.mjs';

const { numpy: np, nn, jit, valueAndGrad, tree } = jax;
await jax.init('wasm');
jax.defaultDevice('wasm');
const sizes = (process.argv[2] ?? '').split(',').filter(Boolean).map((s) => s.split('x').map(Number));
const steps = process.argv[3] === 'epoch' || !process.argv[3] ? Infinity : Number(process.argv[3]);
const out = { name: 'jax-js', importMs, matmul: {}, notes: [] };

// ---------------------------------------------------------------- matmul
for (const [M, K, N] of sizes) {
  const a = np.array(Float32Array.from({ length: M * K }, Math.random)).reshape([M, K]);
  const b = np.array(Float32Array.from({ length: K * N }, Math.random)).reshape([K, N]);
  const mm = jit((x, y) => np.matmul(x, y));
  const run = () => { mm(a.ref, b.ref).dataSync(); };
  // warm-up: calls for at least 0.3 s (see run.mjs: the first second of a process compiles in the background)
  for (let i = 0, w0 = performance.now(); i < 3 || performance.now() - w0 < 300; i++) run();
  const flops = 2 * M * N * K, reps = Math.max(3, Math.round(1e9 / flops));
  const ts = [];
  for (let t = 0; t < 5; t++) { const s = performance.now(); for (let r = 0; r < reps; r++) run(); ts.push((performance.now() - s) / reps); }
  ts.sort((p, q) => p - q);
  out.matmul[`${M}x${K}x${N}`] = flops / ts[2] / 1e6;
  a.dispose(); b.dispose();
}

// ---------------------------------------------------------------- MLP
const data = loadMnist();
const init = initWeights();
let params = {
  w1: np.array(init.w1).reshape([100, 784]), b1: np.array(init.b1),
  w2: np.array(init.w2).reshape([10, 100]), b2: np.array(init.b2),
};
const lr = 0.1, B = 64;
function lossFn(p, x, y) {
  const h = nn.sigmoid(np.matmul(x, p.w1.transpose()).add(p.b1));
  const o = nn.sigmoid(np.matmul(h, p.w2.transpose()).add(p.b2));
  // BCE with the log clamped away from 0 (PyTorch clamps at −100)
  const l = y.ref.mul(np.log(np.clip(o.ref, 1e-30, 1))).add(np.subtract(1, y).mul(np.log(np.clip(np.subtract(1, o), 1e-30, 1))));
  return l.mean().neg();
}
const step = jit((p, x, y) => {
  const [loss, g] = valueAndGrad(lossFn)(tree.ref(p), x, y);
  return [tree.map((w, gw) => w.sub(gw.mul(lr)), p, g), loss];
});
const nSteps = Math.min(Math.floor(data.nTrain / B), steps);
const order = epochOrder(data.nTrain, 1);
// warm up the jit on one batch (not timed), then one epoch
{
  const { x, y } = batch(data, order, 0, B);
  const [p2, l] = step(tree.ref(params), np.array(x).reshape([B, 784]), np.array(y).reshape([B, 10]));
  tree.dispose(p2); l.dataSync();
}
let loss = NaN;
const e0 = performance.now();
for (let s = 0; s < nSteps; s++) {
  const { x, y } = batch(data, order, s, B);
  const [p2, l] = step(params, np.array(x).reshape([B, 784]), np.array(y).reshape([B, 10]));
  params = p2;
  // jax-js queues work lazily: wait for each step, as its docs recommend for iterative computations
  await jax.blockUntilReady(params);
  if (s === nSteps - 1) loss = l.dataSync()[0];
  else l.dispose();
}
for (const v of Object.values(params)) v.ref.dataSync();
const epochS = (performance.now() - e0) / 1000;
out.mlp = { steps: nSteps, seconds: epochS, epochSeconds: epochS * Math.floor(data.nTrain / B) / nSteps, loss };
// accuracy on the test set
if (nSteps === Math.floor(data.nTrain / B)) {
  const fwd = jit((p, x) => nn.sigmoid(np.matmul(nn.sigmoid(np.matmul(x, p.w1.transpose()).add(p.b1)), p.w2.transpose()).add(p.b2)));
  let correct = 0;
  for (let i = 0; i < data.nTest; i += 1000) {
    const o = fwd(tree.ref(params), np.array(data.testX.subarray(i * 784, (i + 1000) * 784)).reshape([1000, 784])).dataSync();
    for (let r = 0; r < 1000; r++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (o[r * 10 + c] > o[r * 10 + best]) best = c;
      if (best === data.testY[i + r]) correct++;
    }
  }
  out.mlp.accuracy = correct / data.nTest;
}
out.peakRssMb = peakRssMb();
console.log(JSON.stringify(out));
