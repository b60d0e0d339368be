/**
 * nabla on the benchmark's tasks, from the built package (dist/): matmul GFLOP/s and the classic MLP epoch
 * (nn.Sequential 784-100-10 with sigmoids, nn.BCELoss, optim.SGD lr 0.1, batch 64) on one backend, with the same
 * initial weights and sample order as the peers, batches drawn by a data.DataLoader over data.MNIST. A second epoch is
 * timed with the products timed (by the wasm backend itself, else by wrapping the backend's gemm), for the split of a
 * step between matmul and the rest.
 * The step (forward, loss, backward) runs through nb.compile, as `nabla train` runs it, or eagerly with mode 'eager'.
 * Prints one JSON line. Usage: node bench/peer-nabla.mjs backend [threads] [MxKxN,...] [steps|epoch] [rssEpochs] [compiled|eager]
 */
import { epochOrder, peakRssMb, initWeights } from './mnist-raw.mjs';

const [backendName = 'wasm', threadsArg = '', sizesArg = '', stepsArg = 'epoch', rssArg = '0', mode = 'compiled'] = process.argv.slice(2);
const t0 = performance.now();
const nb = await import('../dist/index.js');
const importMs = performance.now() - t0;
const { backend } = await import('../dist/backend/backend.js');
nb.setBackend(backendName);
const threads = threadsArg ? Number(threadsArg) : undefined;
if (backendName === 'wasm') {
  const { setWasmOptions } = await import('../dist/backend/wasm/index.js');
  if (threads) setWasmOptions({ threads });
} else if (backendName === 'native' && threads) {
  const { setNativeOptions } = await import('../dist/backend/native/index.js');
  setNativeOptions({ threads });
}
const out = { name: `nabla-${backendName}${threads ? `-${threads}t` : ''}${mode === 'eager' ? '-eager' : ''}`, importMs, matmul: {}, notes: [] };
const sizes = sizesArg.split(',').filter(Boolean).map((s) => s.split('x').map(Number));

// ---------------------------------------------------------------- matmul (through nb.matmul: includes the op layer)
for (const [M, K, N] of sizes) {
  const a = nb.rand([M, K]), b = nb.rand([K, N]);
  const run = () => nb.matmul(a, b);
  // warm-up: calls for at least 0.3 s (see run.mjs: the first second of a process compiles in the background)
  for (let i = 0, w0 = performance.now(); i < 3 || performance.now() - w0 < 300; i++) run();
  const flops = 2 * M * N * K, reps = Math.max(3, Math.round((backendName === 'cpu' ? 1e8 : 1e9) / flops));
  const ts = [];
  for (let t = 0; t < 5; t++) { const s = performance.now(); for (let r = 0; r < reps; r++) run(); ts.push((performance.now() - s) / reps); }
  ts.sort((p, q) => p - q);
  out.matmul[`${M}x${K}x${N}`] = flops / ts[2] / 1e6;
}

// ---------------------------------------------------------------- MLP
const { nn, optim, data } = nb;
const train = new data.MNIST({ train: true });
const init = initWeights();
const model = new nn.Sequential(new nn.Linear(784, 100), new nn.Sigmoid(), new nn.Linear(100, 10), new nn.Sigmoid());
nb.noGrad(() => {
  model.at(0).weight.copy_(nb.tensor(init.w1, { shape: [100, 784] })); model.at(0).bias.copy_(nb.tensor(init.b1));
  model.at(2).weight.copy_(nb.tensor(init.w2, { shape: [10, 100] })); model.at(2).bias.copy_(nb.tensor(init.b2));
});
const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
const lossFn = new nn.BCELoss();
const eye = nb.eye(10);
const nTrain = train.length, B = 64, perEpoch = Math.floor(nTrain / B);
const nSteps = stepsArg === 'epoch' ? perEpoch : Math.min(perEpoch, Number(stepsArg));

/** Forward, loss (on one-hot targets) and backward of one batch: recorded once and replayed by nb.compile, or eager. */
const forwardBackward = (x, labels) => {
  const l = lossFn.call(model.call(x), eye.indexSelect(0, labels));
  l.backward();
  return l;
};
const step = mode === 'eager' ? forwardBackward : nb.compile(forwardBackward);

let batchNs = 0n; // time spent assembling batches (MNIST rows decoded from bytes), for the step split

/** One pass over nSteps batches in the given order; the last loss. */
function epoch(order) {
  let loss = NaN;
  // batches as a DataLoader gives them (it lets the dataset prepare the next one while a step runs), in the peers' order,
  // decoded into reused buffers as `nabla train` has them (each batch is used within its step)
  const batches = new data.DataLoader(train, { batchSize: B, sampler: order.subarray(0, nSteps * B), dropLast: true, reuseBuffers: true })[Symbol.iterator]();
  for (let s = 0; s < nSteps; s++) {
    const tb = process.hrtime.bigint();
    const [x, y] = batches.next().value;
    batchNs += process.hrtime.bigint() - tb;
    opt.zeroGrad();
    const l = step(x.reshape([B, 784]), y);
    opt.step();
    if (s === nSteps - 1) loss = l.item();
  }
  return loss;
}

// the sample orders are drawn before the timers start, as every peer does (60 000 shuffled in JavaScript: 16 ms cold)
const order1 = epochOrder(nTrain, 1), order2 = epochOrder(nTrain, 2);
const e0 = performance.now();
const loss = epoch(order1);
const secs = (performance.now() - e0) / 1000;
out.mlp = { steps: nSteps, seconds: secs, epochSeconds: secs * perEpoch / nSteps, loss };
if (nSteps === perEpoch) {
  // test accuracy in batches of 1000, as a DataLoader over the test set gives them (the whole set as one float32
  // tensor would add ≈ 31 MB of images and the activations of 10 000 rows to the peak RSS)
  const test = new data.MNIST({ train: false });
  let correct = 0;
  nb.noGrad(() => {
    for (const [x, y] of new data.DataLoader(test, { batchSize: 1000, reuseBuffers: true })) {
      correct += model.call(x.reshape([-1, 784])).argmax(1).eq(y).sum().item();
    }
  });
  out.mlp.accuracy = correct / test.length;
}

// per-step split: a second pass with the products timed. On wasm the backend times them itself (timeWasmProducts), so
// that a compiled step's bound products run as they do untimed; elsewhere the backend's gemm is wrapped (wall clock,
// hrtime).
{
  const b = backend();
  const gemm = b.gemm;
  let ns = 0n;
  const wasm = backendName === 'wasm' ? await import('../dist/backend/wasm/index.js') : null;
  if (wasm) wasm.timeWasmProducts(true);
  else b.gemm = (g) => { const t = process.hrtime.bigint(); gemm.call(b, g); ns += process.hrtime.bigint() - t; };
  batchNs = 0n;
  const s0 = performance.now();
  epoch(order2);
  const total = (performance.now() - s0) * 1000 / nSteps, batch = Number(batchNs) / 1000 / nSteps;
  if (wasm) { ns = BigInt(Math.round(wasm.wasmInfo().productSeconds * 1e9)); wasm.timeWasmProducts(false); }
  else b.gemm = gemm;
  const mm = Number(ns) / 1000 / nSteps;
  out.step = { us: total, matmulUs: mm, restUs: total - mm, batchUs: batch };
  if (nSteps === perEpoch) out.mlp.epoch2Seconds = total * nSteps / 1e6;
}

// RSS over further epochs (leak check): one sample per epoch
const rssEpochs = Number(rssArg);
if (rssEpochs > 0) {
  out.rssPerEpochMb = [];
  for (let e = 0; e < rssEpochs; e++) {
    epoch(epochOrder(nTrain, 10 + e));
    out.rssPerEpochMb.push(process.memoryUsage().rss / 2 ** 20);
  }
}
out.peakRssMb = peakRssMb();
if (step.stats) out.compile = step.stats;
if (backendName === 'wasm') {
  const { wasmInfo } = await import('../dist/backend/wasm/index.js');
  out.wasm = wasmInfo();
}
console.log(JSON.stringify(out));
