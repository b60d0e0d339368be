/**
 * The classic MLP epoch (784-100-10, sigmoid, BCE on one-hot targets, SGD lr 0.1, batch 64, shuffled,
 * 938 steps) on a chosen backend, with a per-step split between matmul and everything else.
 * Usage: node --import tsx bench/native-mlp.ts [backend=native] [epochs=3] [threads]
 */
import * as nb from '../src/index.js';
import { backend } from '../src/backend/backend.js';
import { nativeInfo, setNativeOptions } from '../src/backend/native/index.js';

const { nn, optim, data } = nb;
const name = process.argv[2] ?? 'native';
const epochs = Number(process.argv[3] ?? 3);
const threads = process.argv[4] ? Number(process.argv[4]) : undefined;
nb.setBackend(name);
if (name === 'native' && threads) setNativeOptions({ threads });

const train = new data.MNIST({ train: true });
nb.manualSeed(0);
const model = new nn.Sequential(new nn.Linear(784, 100), new nn.Sigmoid(), new nn.Linear(100, 10), new nn.Sigmoid());
const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
const lossFn = new nn.BCELoss();
const loader = new data.DataLoader(train, { batchSize: 64, shuffle: true, generator: new nb.Generator(1) });
const eye = nb.eye(10);

// time spent inside gemm, measured by wrapping the current backend's kernel
const b = backend() as { gemm: (g: unknown) => void };
const gemm = b.gemm.bind(b);
let gemmNs = 0n;
const perShape = new Map<string, number[]>(); // µs of each call, by product (last epoch)
b.gemm = (g) => {
  const t = process.hrtime.bigint();
  gemm(g);
  const ns = process.hrtime.bigint() - t;
  gemmNs += ns;
  const { M, N, K, transA, transB } = g as { M: number; N: number; K: number; transA: boolean; transB: boolean };
  const key = `${M}×${N}×${K}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`;
  let list = perShape.get(key);
  if (!list) perShape.set(key, list = []);
  list.push(Number(ns) / 1000);
};

const times: number[] = [];
for (let e = 0; e < epochs; e++) {
  gemmNs = 0n;
  perShape.clear();
  let steps = 0, last = 0;
  const faults0 = process.resourceUsage().minorPageFault;
  const t0 = process.hrtime.bigint();
  for (const [x, y] of loader as Iterable<[nb.Tensor, nb.Tensor]>) {
    const out = model.call(x.reshape([-1, 784]));
    const loss = lossFn.call(out, eye.indexSelect(0, y));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    steps++;
    if (steps % 300 === 0) last = loss.item();
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  times.push(s);
  const mm = Number(gemmNs) / 1e9, faults = (process.resourceUsage().minorPageFault - faults0) / steps;
  console.log(`${name} epoch ${e + 1}: ${s.toFixed(3)} s, ${steps} steps, ${(s / steps * 1e6).toFixed(0)} µs/step ` +
    `(matmul ${(mm / steps * 1e6).toFixed(0)} µs, rest ${((s - mm) / steps * 1e6).toFixed(0)} µs), ` +
    `${faults.toFixed(1)} page faults/step, loss ${last.toFixed(4)}`);
}
for (const [key, list] of perShape) {
  const s = [...list].sort((p, q) => p - q), q = (f: number): string => s[Math.floor(f * (s.length - 1))]!.toFixed(1);
  console.log(`  ${key.padEnd(20)} µs per call, last epoch: min ${q(0)}, p10 ${q(0.1)}, median ${q(0.5)}, p90 ${q(0.9)}`);
}
const sorted = [...times].sort((p, q) => p - q);
console.log(`${name}: median epoch ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} s` + (name === 'native' ? ` (${JSON.stringify({ isa: nativeInfo()!.isa, threads: nativeInfo()!.threads })})` : ''));
if (name === 'native') { const i = nativeInfo()!; console.log(`pool: ${i.poolJobs} jobs, ${i.poolStalls} stalls, ${i.poolSerialJobs} run serially (after a stall, or at a load average above the CPUs + 1)`); }
