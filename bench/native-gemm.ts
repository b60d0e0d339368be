/**
 * Native matmul throughput: GFLOP/s on one thread and on all of them, at square sizes, the classic MLP's
 * shapes (forward and both backward products) and the reference CNN's convolution products.
 * Each shape reports the best run (what the hardware gives when nothing else runs) and the median
 * (what a busy machine gave), over `--reps` timed runs after a warm-up.
 * `--mlp` instead replays the five products of one classic-MLP training step (batch 64, 784-100-10), in
 * the layouts the op layer passes them, with `--gap` µs of busy work between calls (the op layer's share
 * of a step, during which pool workers go idle): µs per call and per step, best / median.
 *
 *   node --import tsx bench/native-gemm.ts [--isa avx2] [--reps 15] [--json] [--mlp [--gap 20]] [--threads 1,2]
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
const threadList = args.includes('--threads') ? opt('--threads', '1').split(',').map(Number) : [...new Set([1, info.cpus])];
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() - 0.5);

if (args.includes('--mlp')) {
  // [label, M, N, K, transA, transB]: forward x·W1ᵀ, h·W2ᵀ; backward dh = g2·W2, dW2 = (g2ᵀ·h), dW1 = (g1ᵀ·x)
  const calls: [string, number, number, number, boolean, boolean][] = [
    ['x·W1ᵀ 64×100×784', 64, 100, 784, false, true],
    ['h·W2ᵀ 64×10×100', 64, 10, 100, false, true],
    ['g2·W2 64×100×10', 64, 100, 10, false, false],
    ['g2ᵀ·h 10×100×64', 10, 100, 64, true, false],
    ['g1ᵀ·x 100×784×64', 100, 784, 64, true, false],
  ];
  const gap = Number(opt('--gap', '20')), steps = 200;
  const spin = (us: number): void => { const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000)); while (process.hrtime.bigint() < end); };
  const gs = calls.map(([, M, N, K, ta, tb]) => ({ batch: 1, M, N, K, a: rand(M * K), aOffset: 0, lda: ta ? M : K, transA: ta, aBatchStride: 0, b: rand(K * N), bOffset: 0, ldb: tb ? K : N, transB: tb, bBatchStride: 0, c: new Float32Array(M * N) }));
  console.log(`MLP step products, ${info.isa}, ${gap} µs between calls, µs best / median of ${reps}×${steps} steps (load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
  for (const threads of threadList) {
    setNativeOptions({ threads });
    const before = nativeInfo()!;
    const per: number[][] = calls.map(() => []), tot: number[] = [];
    for (let r = -1; r < reps; r++) {
      const acc = calls.map(() => 0);
      const t0 = process.hrtime.bigint();
      for (let s = 0; s < steps; s++) {
        for (let i = 0; i < calls.length; i++) {
          const t = process.hrtime.bigint();
          backend().gemm(gs[i]!);
          acc[i]! += Number(process.hrtime.bigint() - t);
          spin(gap);
        }
      }
      if (r < 0) continue; // warm-up
      tot.push((Number(process.hrtime.bigint() - t0) / steps - gap * 1000 * calls.length) / 1000);
      acc.forEach((ns, i) => per[i]!.push(ns / steps / 1000));
    }
    const bm = (xs: number[]): string => { const s = [...xs].sort((p, q) => p - q); return `${s[0]!.toFixed(1)} / ${s[Math.floor(s.length / 2)]!.toFixed(1)}`; };
    const after = nativeInfo()!;
    console.log(`${threads} thread(s): step ${bm(tot)} µs; pool jobs ${after.poolJobs - before.poolJobs}, stalls ${after.poolStalls - before.poolStalls}, serial ${after.poolSerialJobs - before.poolSerialJobs}`);
    calls.forEach(([label, M, N, K], i) => {
      const best = Math.min(...per[i]!);
      console.log(`  ${label.padEnd(22)}${bm(per[i]!).padStart(16)} µs  ${(2 * M * N * K / best / 1000).toFixed(0).padStart(4)} GFLOP/s best`);
    });
  }
  process.exit(0);
}

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
  ['bench 64x784x100 (NN)', 64, 100, 784, false, false],
  ['bench 100x64x784 (NN)', 100, 784, 64, false, false],
  ['conv2 fwd 64×7744×288', 64, 7744, 288, false, false],
  ['conv2 dX 288×7744×64', 288, 7744, 64, true, false],
  ['conv2 dW 64×288×7744', 64, 288, 7744, false, true],
];

const results: Record<string, Record<string, { best: number; median: number }>> = {};
for (const threads of threadList) {
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
