/**
 * The reference CNN (conv 1→32 3×3, ReLU, max-pool 2, conv 32→64 3×3, ReLU, max-pool 2, linear 1600→128,
 * ReLU, linear 128→10; cross-entropy, Adam lr 1e-3, batch 64) for one MNIST epoch on a chosen backend,
 * with the time per kernel when --kernels is given.
 * The forward, loss and backward run through nb.compile (as `nabla train` runs them) with --compile.
 * Usage: node --import tsx bench/native-cnn.ts [backend=native] [steps=938] [--kernels] [--threads N] [--compile]
 */
import * as nb from '../src/index.js';
import { backend } from '../src/backend/backend.js';
import { nativeInfo, setNativeOptions } from '../src/backend/native/index.js';

const args = process.argv.slice(2);
const flag = (f: string): boolean => args.includes(f);
const opt = (f: string): string | undefined => { const i = args.indexOf(f); return i >= 0 ? args[i + 1] : undefined; };
const pos = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--threads')));
const name = pos[0] ?? 'native';
const maxSteps = Number(pos[1] ?? 938);
nb.setBackend(name);
if (name === 'native' && opt('--threads')) setNativeOptions({ threads: Number(opt('--threads')) });

const { nn, optim, data } = nb;
const train = new data.MNIST({ train: true, normalize: true });
nb.manualSeed(0);
const model = new nn.Sequential(
  new nn.Conv2d(1, 32, 3), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Conv2d(32, 64, 3), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Flatten(), new nn.Linear(1600, 128), new nn.ReLU(), new nn.Linear(128, 10),
);
const opt_ = new optim.Adam(model.parameters(), { lr: 1e-3 });
const lossFn = new nn.CrossEntropyLoss();
const loader = new data.DataLoader(train, { batchSize: 64, shuffle: true, generator: new nb.Generator(1) });

const stats = new Map<string, { n: number; ns: bigint }>();
const cpuClock = flag('--cpu');
if (flag('--kernels')) {
  const b = backend() as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const k in b) { // own and inherited (the fused optimizer steps sit on the prototype)
    if (typeof b[k] !== 'function') continue;
    const f = b[k]!.bind(b);
    b[k] = (...a: unknown[]): unknown => {
      // --cpu: the process's CPU time instead of wall time (meaningful with --threads 1 on a busy machine)
      let dt: bigint, r: unknown;
      if (cpuClock) { const c = process.cpuUsage(); r = f(...a); const d = process.cpuUsage(c); dt = BigInt((d.user + d.system) * 1000); }
      else { const t = process.hrtime.bigint(); r = f(...a); dt = process.hrtime.bigint() - t; }
      let key = k;
      if (k === 'unary' || k === 'binary' || k === 'reduce') key += ':' + String(a[0]);
      if (k === 'maxPool2d' || k === 'maxPool2dBackward' || k === 'reluGrad') key += ` [${String((a[0] as { shape: number[] }).shape)}]`;
      if (k === 'gemm') { const g = a[0] as { M: number; N: number; K: number; transA: boolean; transB: boolean; batch: number }; key += ` ${g.batch}×${g.M}×${g.N}×${g.K} ${g.transA ? 'T' : 'N'}${g.transB ? 'T' : 'N'}`; }
      const s = stats.get(key) ?? { n: 0, ns: 0n }; s.n++; s.ns += dt; stats.set(key, s);
      return r; // the optional kernels answer whether they ran
    };
  }
}

const forwardBackward = (x: nb.Tensor, y: nb.Tensor): nb.Tensor => {
  const loss = lossFn.call(model.call(x), y);
  loss.backward();
  return loss;
};
const step = flag('--compile') ? nb.compile(forwardBackward) : forwardBackward;

let steps = 0, lossSum = 0;
const stepMs: number[] = [], stepCpuMs: number[] = [];
const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
for (const [x, y] of loader as Iterable<[nb.Tensor, nb.Tensor]>) {
  const ts = process.hrtime.bigint(), cs = process.cpuUsage();
  opt_.zeroGrad();
  const loss = step(x, y);
  opt_.step();
  lossSum += loss.item();
  stepMs.push(Number(process.hrtime.bigint() - ts) / 1e6);
  const cd = process.cpuUsage(cs);
  stepCpuMs.push((cd.user + cd.system) / 1e3);
  if (++steps >= maxSteps) break;
}
stepMs.sort((p, q) => p - q);
stepCpuMs.sort((p, q) => p - q);
const s = Number(process.hrtime.bigint() - t0) / 1e9, cu = process.cpuUsage(c0);
const info = name === 'native' ? ` ${JSON.stringify({ isa: nativeInfo()!.isa, threads: nativeInfo()!.threads })}` : '';
console.log(`${name}: ${steps} steps in ${s.toFixed(2)} s (${(s / steps * 1e3).toFixed(2)} ms/step, cpu ${((cu.user + cu.system) / 1e3 / steps).toFixed(2)} ms/step; ` +
  `full epoch ≈ ${(s / steps * 938).toFixed(1)} s), mean loss ${(lossSum / steps).toFixed(4)}${info}`);
console.log(`  step time: fastest ${stepMs[0]!.toFixed(1)} ms, 10th percentile ${stepMs[Math.floor(steps / 10)]!.toFixed(1)} ms, median ${stepMs[Math.floor(steps / 2)]!.toFixed(1)} ms; ` +
  `CPU time (all threads) median ${stepCpuMs[Math.floor(steps / 2)]!.toFixed(1)} ms (data loading excluded)`);
let total = 0n;
for (const [k, v] of [...stats].sort((p, q) => Number(q[1].ns - p[1].ns))) {
  total += v.ns;
  console.log(`  ${k.padEnd(34)} ${(v.n / steps).toFixed(1).padStart(5)}/step ${(Number(v.ns) / 1e6 / steps).toFixed(3).padStart(8)} ms/step`);
}
if (stats.size) console.log(`  kernels ${(Number(total) / 1e6 / steps).toFixed(3)} ms/step of ${(s / steps * 1e3).toFixed(2)}`);
if (name === 'native') { const i = nativeInfo()!; console.log(`pool: ${i.poolJobs} jobs, ${i.poolStalls} stalls, ${i.poolSerialJobs} run serially after a stall`); }
