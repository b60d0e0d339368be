/**
 * CNN epoch time: the reference CNN of `nabla train --model cnn` (conv 1→32 3×3, ReLU, max-pool 2,
 * conv 32→64 3×3, ReLU, max-pool 2, linear 1600→128, ReLU, linear 128→10; cross-entropy, Adam lr 1e-3,
 * batch 64) on MNIST batches, timed per training step on each backend.
 *
 *   npx tsx bench/cnn.ts                      # every registered backend, 20 timed steps each
 *   npx tsx bench/cnn.ts --backend cpu --steps 50
 *   npx tsx bench/cnn.ts --json               # one JSON object per backend (for the benchmark table)
 *   npx tsx bench/cnn.ts --mode eager         # the eager step instead of the compiled one
 *
 * The step (forward, loss, backward) runs through nb.compile, as `nabla train` runs it (recorded once, then
 * replayed with every buffer reused), or eagerly with --mode eager; the optimizer step follows it either way.
 * The epoch time is the median step time × 938 (60 000 images / 64): the whole training pass of
 * one epoch, evaluation excluded, as the PyTorch figure it is compared with.
 */
import * as nb from '../src/index.js';

const { nn, optim, datasets } = nb;

/** PyTorch 1.13 + OpenBLAS, 2 cores, the same model and batch (issue 6). */
export const PYTORCH_EPOCH_SECONDS = 11.9;
const STEPS_PER_EPOCH = Math.ceil(60000 / 64);

/** Wall-clock and CPU (all threads) medians per step; on a shared machine the CPU time is the steadier of the two. */
export interface CnnBenchResult { backend: string; mode: CnnMode; msPerStep: number; cpuMsPerStep: number; epochSeconds: number; steps: number }
export type CnnMode = 'compiled' | 'eager';

export function referenceCnn(): nb.nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 32, 3), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(1600, 128), new nn.ReLU(), new nn.Linear(128, 10));
}

/** Median time of `steps` training steps (after `warmup` untimed ones) on the named backend. */
export function benchCnn(backend: string, steps = 20, warmup = 3, mode: CnnMode = 'compiled'): CnnBenchResult {
  const prev = nb.getBackend();
  nb.setBackend(backend);
  try {
    nb.manualSeed(0);
    const train = new datasets.MNIST({ train: true, normalize: true });
    const model = referenceCnn();
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const forwardBackward = (x: nb.Tensor, y: nb.Tensor): nb.Tensor => {
      const loss = nn.F.crossEntropy(model.call(x), y);
      loss.backward();
      return loss;
    };
    const step = mode === 'eager' ? forwardBackward : nb.compile(forwardBackward);
    const times: number[] = [], cpu: number[] = [];
    for (let i = 0; i < warmup + steps; i++) {
      const at = (i * 64) % (60000 - 64);
      const x = train.images.slice(0, at, at + 64), y = train.targets.slice(0, at, at + 64);
      const t0 = performance.now(), c0 = process.cpuUsage();
      opt.zeroGrad();
      const loss = step(x, y);
      opt.step();
      loss.item();
      const c1 = process.cpuUsage(c0);
      if (i >= warmup) { times.push(performance.now() - t0); cpu.push((c1.user + c1.system) / 1000); }
    }
    const median = (v: number[]): number => v.sort((a, b) => a - b)[v.length >> 1]!;
    const ms = median(times);
    return { backend, mode, msPerStep: ms, cpuMsPerStep: median(cpu), epochSeconds: (ms * STEPS_PER_EPOCH) / 1000, steps };
  } finally {
    nb.setBackend(prev);
  }
}

/** A benchmark-table row: `| CNN epoch (reference CNN, batch 64) | backend | seconds | PyTorch seconds |`. */
export const tableRow = (r: CnnBenchResult): string =>
  `| MNIST CNN epoch (conv32-conv64-fc128, batch 64, Adam) | ${r.backend}${r.mode === 'eager' ? ' (eager)' : ''} | ${r.epochSeconds.toFixed(1)} s (${r.msPerStep.toFixed(0)} ms/step, ${r.cpuMsPerStep.toFixed(0)} ms CPU) | ${PYTORCH_EPOCH_SECONDS} s |`;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = arg('backend') ?? 'all';
  const steps = Number(arg('steps') ?? 20);
  const backends = which === 'all' ? nb.listBackends() : [which];
  for (const b of backends) {
    const r = benchCnn(b, steps, 3, (arg('mode') ?? 'compiled') as CnnMode);
    console.log(process.argv.includes('--json') ? JSON.stringify(r) : tableRow(r));
  }
}
