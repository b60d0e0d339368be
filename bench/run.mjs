#!/usr/bin/env node
/**
 * `npm run bench`: nabla on each of its backends against TensorFlow.js (cpu and wasm), jax-js (jitted step) and
 * PyTorch (when /usr/bin/python3 has torch), side by side in one table: import time, matmul GFLOP/s at several
 * sizes (the MLP's own shapes among them), the classic MLP's seconds per epoch and test accuracy, the split of a
 * step between matmul and the rest, and peak RSS. Each configuration runs in its own process (bench/peer-*.mjs,
 * bench/peer-torch.py); with --repeat N every number is the median of N runs. Before and after each run a probe
 * (bench/probe.mjs) measures how fast the machine's two cores are then: the table's "machine" column.
 *
 * Options: --repeat N (default 1)   --quick (200 steps per MLP run, extrapolated; no accuracy)
 *          --only a,b (name prefixes)   --md (also write BENCHMARKS.md)   --rss-epochs N (nabla-wasm: RSS per epoch)
 *          --no-cnn (skip the reference-CNN step timings)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const repeat = Number(opt('--repeat', '1'));
const quick = args.includes('--quick');
const only = opt('--only', '')?.split(',').filter(Boolean) ?? [];
const rssEpochs = Number(opt('--rss-epochs', '0'));
const SIZES = '64x784x100,100x64x784,128x128x128,256x256x256,512x512x512,1024x1024x1024';
const SMALL_SIZES = '64x784x100,100x64x784,128x128x128';

if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` first');
  process.exit(1);
}

/** Run a command that prints one JSON line last; null (with the reason) when it fails. */
function runJson(cmd, argv, timeoutS = 900) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 26 });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) return { error: `${cmd} ${argv.join(' ')} failed (status ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(line);
}

const steps = quick ? '200' : 'epoch';
const nativeBuilt = existsSync(join(root, 'build', 'Release', 'nabla_native.node'));
const hasTorch = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { timeout: 60000 }).status === 0;

/** name → argv of the configuration's process. */
const configs = [
  // nabla trains with a compiled step (nb.compile, as `nabla train` does); the -eager rows run the same step op by op
  ['nabla-wasm-1t', ['node', ['bench/peer-nabla.mjs', 'wasm', '1', SIZES, steps]]],
  ['nabla-wasm-1t-eager', ['node', ['bench/peer-nabla.mjs', 'wasm', '1', '', steps, '0', 'eager']]],
  ['nabla-wasm-2t', ['node', ['bench/peer-nabla.mjs', 'wasm', '2', SIZES, steps, String(rssEpochs)]]],
  // what Node 22+ gets by default: the relaxed-SIMD build (fused multiply-add), enabled here by a V8 flag
  ['nabla-wasm-2t-fma', ['node', ['--experimental-wasm-relaxed-simd', 'bench/peer-nabla.mjs', 'wasm', '2', SIZES, steps]]],
  ...(nativeBuilt ? [
    ['nabla-native-1t', ['node', ['bench/peer-nabla.mjs', 'native', '1', SIZES, steps]]],
    ['nabla-native-1t-eager', ['node', ['bench/peer-nabla.mjs', 'native', '1', '', steps, '0', 'eager']]],
    ['nabla-native-2t', ['node', ['bench/peer-nabla.mjs', 'native', '2', SIZES, steps]]],
  ] : []),
  ['nabla-cpu', ['node', ['bench/peer-nabla.mjs', 'cpu', '', SMALL_SIZES, '100']]],
  ['tfjs-wasm', ['node', ['bench/peer-tfjs.mjs', 'wasm', SIZES, steps]]],
  ['tfjs-cpu', ['node', ['bench/peer-tfjs.mjs', 'cpu', SMALL_SIZES, '100']]],
  ['jax-js', ['node', ['bench/peer-jax.mjs', SIZES, steps]]],
  ...(hasTorch ? [
    ['pytorch-1t', ['/usr/bin/python3', ['bench/peer-torch.py', SIZES, steps, '1']]],
    ['pytorch-2t', ['/usr/bin/python3', ['bench/peer-torch.py', SIZES, steps, '2']]],
  ] : []),
].filter(([name]) => !only.length || only.some((o) => name.startsWith(o)));

const median = (xs) => { const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };

/** nabla's import time as users import it (`import 'nabla'`: the package entry, dist/nabla.js), in a fresh process each time (median of 5). */
function nablaImportMs() {
  const code = "const t = performance.now(); await import('nabla'); console.log(JSON.stringify({ ms: performance.now() - t }));";
  return median(Array.from({ length: 5 }, () => runJson('node', ['--input-type=module', '-e', code])?.ms));
}

/** The probe's rate on the slower of the two cores now (bench/probe.mjs), NaN when it fails. */
const probe = () => Math.min(...(runJson('node', ['bench/probe.mjs'], 60).rates ?? [NaN]));
/** Every probe of this invocation (the fastest is quoted in the notes). */
const probes = [];
/** Run a configuration between two probes; its result gets `machine`: the lower of the two probes' rates. */
function runProbed(cmd, argv) {
  if (!probes.length) probes.push(probe());
  const before = probes[probes.length - 1];
  const res = runJson(cmd, argv);
  const after = probe();
  probes.push(after);
  return { ...res, machine: Math.min(before, after) };
}

const load0 = loadavg();
const started = new Date();
const results = new Map();
const importNabla = nablaImportMs();
for (let r = 0; r < repeat; r++) {
  for (const [name, [cmd, argv]] of configs) {
    process.stderr.write(`bench: ${name} (run ${r + 1}/${repeat}) … `);
    const t = Date.now();
    const res = runProbed(cmd, argv);
    process.stderr.write(res.error ? `failed\n  ${res.error}\n` : `${((Date.now() - t) / 1000).toFixed(0)} s\n`);
    if (!results.has(name)) results.set(name, []);
    results.get(name).push(res);
  }
}
// the reference CNN (issue 6): median step × 938, nabla's fast backends beside PyTorch
const cnnRuns = [];
if (!args.includes('--no-cnn')) {
  const cnnSteps = quick ? '10' : '30';
  const cnnConfigs = [
    ...(nativeBuilt ? [['nabla-native', ['node', ['--import', 'tsx', 'bench/cnn.ts', '--backend', 'native', '--json', '--steps', cnnSteps]]]] : []),
    ['nabla-wasm', ['node', ['--import', 'tsx', 'bench/cnn.ts', '--backend', 'wasm', '--json', '--steps', cnnSteps]]],
    ...(hasTorch ? [['pytorch-1t', ['/usr/bin/python3', ['bench/peer-torch-cnn.py', cnnSteps, '1']]],
      ['pytorch-2t', ['/usr/bin/python3', ['bench/peer-torch-cnn.py', cnnSteps, '2']]]] : []),
  ].filter(([name]) => !only.length || only.some((o) => name.startsWith(o)));
  for (const [name, [cmd, argv]] of cnnConfigs) {
    process.stderr.write(`bench: CNN ${name} … `);
    const runs = Array.from({ length: repeat }, () => runProbed(cmd, argv));
    const ok = runs.filter((x) => !x.error);
    process.stderr.write(ok.length ? 'done\n' : `failed\n  ${runs[0].error}\n`);
    cnnRuns.push({
      name, error: ok.length ? null : runs[0].error, msPerStep: median(ok.map((x) => x.msPerStep)), epochS: median(ok.map((x) => x.epochSeconds)),
      machine: median(ok.map((x) => x.machine)),
    });
  }
}
const load1 = loadavg();
/** The fastest probe of this invocation: the machine at its best in these minutes. */
const fullSpeed = Math.max(...probes.filter(Number.isFinite));

// ---------------------------------------------------------------- the table
const sizes = SIZES.split(',');
const rows = [];
for (const [name, runs] of results) {
  const ok = runs.filter((x) => !x.error);
  if (!ok.length) { rows.push({ name, error: runs[0].error }); continue; }
  const m = (f) => median(ok.map(f));
  rows.push({
    name,
    importMs: name.startsWith('nabla') ? importNabla : m((x) => x.importMs),
    gflops: Object.fromEntries(sizes.map((s) => [s, m((x) => x.matmul?.[s])])),
    epochS: m((x) => x.mlp?.epochSeconds),
    epoch2S: m((x) => x.mlp?.epoch2Seconds),
    extrapolated: ok[0].mlp && ok[0].mlp.steps < 900,
    accuracy: m((x) => x.mlp?.accuracy),
    loss: m((x) => x.mlp?.loss),
    stepUs: m((x) => x.step?.us), matmulUs: m((x) => x.step?.matmulUs), restUs: m((x) => x.step?.restUs), batchUs: m((x) => x.step?.batchUs),
    rss: m((x) => x.peakRssMb),
    rssPerEpoch: ok[0].rssPerEpochMb,
    extra: ok[0].blas ? `BLAS ${ok[0].blas}` : '',
    machine: m((x) => x.machine),
  });
}
const base = rows.find((r) => r.name === 'nabla-wasm-2t' && !r.error) ?? rows.find((r) => !r.error);
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const ratio = (x, b) => (Number.isFinite(x) && Number.isFinite(b) && b > 0 ? `${(x / b).toFixed(2)}×` : '—');

const lines = [];
lines.push('| run | import ms | ' + sizes.map((s) => `${s} GFLOP/s`).join(' | ') + ' | MLP s/epoch | vs nabla-wasm-2t | 2nd epoch s | test acc | step µs (matmul + rest) | of the rest: batch µs | peak RSS MB | machine |');
lines.push('|' + ' --- |'.repeat(sizes.length + 10));
for (const r of rows) {
  if (r.error) { lines.push(`| ${r.name} | failed: ${r.error.replace(/\|/g, '/')} |`); continue; }
  lines.push(`| ${r.name} | ${f(r.importMs, 0)} | ` + sizes.map((s) => f(r.gflops[s])).join(' | ') +
    ` | ${r.extrapolated ? '~' : ''}${f(r.epochS, 2)} | ${ratio(r.epochS, base?.epochS)} | ${f(r.epoch2S, 2)} | ${Number.isFinite(r.accuracy) ? (100 * r.accuracy).toFixed(2) + ' %' : '—'} | ` +
    `${Number.isFinite(r.stepUs) ? `${f(r.stepUs, 0)} (${f(r.matmulUs, 0)} + ${f(r.restUs, 0)})` : '—'} | ${f(r.batchUs, 0)} | ${f(r.rss, 0)} | ${f(r.machine, 2)} |`);
}
const notes = [];
if (!hasTorch) notes.push('PyTorch: /usr/bin/python3 has no torch, so it is absent from the table.');
if (!nativeBuilt) notes.push('nabla-native: the addon is not built here (build/Release/nabla_native.node), so it is absent.');
notes.push('nabla-wasm-2t-fma: the same backend with its relaxed-SIMD build (fused multiply-add), which Node 22+ loads by default and Node 20 with --experimental-wasm-relaxed-simd.');
notes.push('`~` marks an epoch time extrapolated from 100–200 steps (no accuracy then). Ratios are epoch times relative to nabla-wasm-2t.');
notes.push('matmul: C = A·B with A [M, K] and B [K, N] written MxKxN, through each library\'s public matmul (nabla: including the op layer and the copies into wasm memory); each size is called for at least 0.3 s before it is timed (V8 compiles code on background threads through about the first second of a process, and on 2 cores those threads take turns with a pool worker), then the median of 5 timings (TensorFlow.js: 3).');
notes.push('MLP: 784-100-10, sigmoid, BCE on one-hot targets, SGD lr 0.1, batch 64, 937 steps; the same initial weights and sample order in every run (bench/mnist-raw.mjs), so the losses agree.');
notes.push('MLP s/epoch is the first epoch of the process (JIT warm-up included); 2nd epoch: the next one, in another sample order (nabla: the epoch of the step split; PyTorch: timed the same way; others not measured).');
notes.push('step: a second epoch with the products timed (wall clock; on wasm by the backend itself, `timeWasmProducts`, so that a compiled step\'s bound products run as untimed; on native and cpu by wrapping the backend\'s gemm): the time inside matmul kernels and everything else (op layer, autograd, other kernels, data); of the rest, the batch column is the time spent getting each batch from a DataLoader over data.MNIST (64 rows decoded from bytes into the next of four reused buffers, with reuseBuffers as nabla train has it; on wasm with 2 threads a worker decodes the next batch into its buffer during the step, and this is the loader\'s and the dataset\'s own work).');
notes.push(`machine: how fast the machine was around the row, as the lower of two probes (bench/probe.mjs: an integer loop that fills a core, run on both cores at once; billions of turns a second on the slower core) taken just before and just after the row\'s process; with --repeat, the median. The fastest probe of this invocation: ${f(fullSpeed, 2)}. A row well below that ran while the machine was slower: on a shared VM the probe can drop by a third for seconds at a time, and every compute-bound row with it; a row near the fastest can still have met such a stretch between its probes.`);
if (cnnRuns.length) {
  const torchCnn = cnnRuns.find((r) => r.name === 'pytorch-2t' && !r.error) ?? cnnRuns.find((r) => r.name.startsWith('pytorch') && !r.error);
  lines.push('', `| reference CNN (issue 6) | ms/step | s/epoch (× 938 steps) | vs ${torchCnn?.name ?? 'PyTorch'} | machine |`, '| --- | --- | --- | --- | --- |');
  for (const r of cnnRuns) {
    lines.push(r.error ? `| ${r.name} | failed: ${r.error.replace(/\|/g, '/')} | | | |` : `| ${r.name} | ${f(r.msPerStep, 1)} | ${f(r.epochS, 1)} | ${ratio(r.epochS, torchCnn?.epochS)} | ${f(r.machine, 2)} |`);
  }
  notes.push('reference CNN: conv 1→32 3×3, ReLU, max-pool 2, conv 32→64 3×3, ReLU, max-pool 2, linear 1600→128, ReLU, linear 128→10, cross-entropy, Adam lr 1e-3, batch 64 (bench/cnn.ts, bench/peer-torch-cnn.py): median training step × 938; issue 6 quotes PyTorch + OpenBLAS at 11.9 s per epoch on a quiet machine.');
}
const rssLine = rows.find((r) => r.rssPerEpoch)?.rssPerEpoch;
if (rssLine) notes.push(`nabla-wasm-2t RSS after each of ${rssLine.length} more epochs (MB): ${rssLine.map((x) => x.toFixed(0)).join(', ')}.`);

const header = [
  `Date: ${started.toISOString()}; machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ` +
  `load average ${load0.map((x) => x.toFixed(2)).join(' / ')} at the start, ${load1.map((x) => x.toFixed(2)).join(' / ')} at the end; ${repeat} run(s) per row (medians).`,
];
const table = [...header, '', ...lines, '', ...notes.map((n) => `- ${n}`)].join('\n');
console.log(table);

if (args.includes('--md')) {
  const path = join(root, 'BENCHMARKS.md');
  const prev = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const marker = '<!-- bench:results -->';
  const intro = prev.includes(marker) ? prev.slice(0, prev.indexOf(marker)) : '# Benchmarks\n\n';
  writeFileSync(path, `${intro}${marker}\n${table}\n`);
  console.error(`bench: wrote ${path}`);
}
