/**
 * Native matmul throughput: GFLOP/s on one thread and on all of them, at square sizes, the classic MLP's
 * shapes (forward and both backward products) and the reference CNN's convolution products.
 * Each shape reports the best run (what the hardware gives when nothing else runs) and the median
 * (what a busy machine gave), over `--reps` timed runs after a warm-up.
 *
 *   node --import tsx bench/native-gemm.ts [--isa avx2] [--reps 15] [--json]
 */
import '../src/index.js';
import { backend, setBackend } from '../src/backend/backend.js';
import { nativeInfo, setNativeOptions } from '../src/backend/native/index.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };
const reps = Number(opt('--reps', '15'));
setBackend('native');
if (args.includes('--isa')) setNativeOptions({ isa: opt('--isa', 'avx512') });
const info = nativeInfo()!;

/** [label, M, N, K, transA, transB] */
const shapes: [string, number, number, number, boolean, boolean][] = [
  ['1024³', 1024, 1024, 1024, false, false],
  ['1024³ Aᵀ', 1024, 1024, 1024, true, false],
  ['1024³ Bᵀ', 1024, 1024, 1024, false, true],
  ['512³', 512, 512, 512, false, false],
  ['256³', 256, 256, 256, false, false],
  ['MLP x·W1ᵀ 64×100×784', 64, 100, 784, false, true],
  ['MLP gᵀ·x 100×784×64', 100, 784, 64, true, false],
  ['MLP g·W1 64×784×100', 64, 784, 100, false, false],
  ['conv2 fwd 64×7744×288', 64, 7744, 288, false, false],
  ['conv2 dX 288×7744×64', 288, 7744, 64, true, false],
  ['conv2 dW 64×288×7744', 64, 288, 7744, false, true],
];

const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const results: Record<string, Record<string, { best: number; median: number }>> = {};
for (const threads of [...new Set([1, info.cpus])]) {
  setNativeOptions({ threads });
  for (const [label, M, N, K, ta, tb] of shapes) {
    const a = rand(M * K), b = rand(K * N), c = new Float32Array(M * N);
    const g = { batch: 1, M, N, K, a, aOffset: 0, lda: ta ? M : K, transA: ta, aBatchStride: 0, b, bOffset: 0, ldb: tb ? K : N, transB: tb, bBatchStride: 0, c };
    const flop = 2 * M * N * K, inner = Math.max(1, Math.round(2e8 / flop));
    for (let i = 0; i < inner * 2; i++) backend().gemm(g);
    const rates: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < inner; i++) backend().gemm(g);
      rates.push(flop * inner / Number(process.hrtime.bigint() - t));
    }
    rates.sort((p, q) => q - p);
    (results[label] ??= {})[`${threads}t`] = { best: rates[0]!, median: rates[Math.floor(reps / 2)]! };
  }
}

if (args.includes('--json')) {
  console.log(JSON.stringify({ isa: info.isa, cpus: info.cpus, results }));
} else {
  const cols = Object.keys(Object.values(results)[0]!);
  console.log(`native gemm, ${info.isa}, GFLOP/s best / median of ${reps} (load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
  console.log(`${'shape'.padEnd(24)}${cols.map((c) => c.padStart(16)).join('')}`);
  for (const [label, r] of Object.entries(results)) {
    console.log(`${label.padEnd(24)}${cols.map((c) => `${r[c]!.best.toFixed(0)} / ${r[c]!.median.toFixed(0)}`.padStart(16)).join('')}`);
  }
}
