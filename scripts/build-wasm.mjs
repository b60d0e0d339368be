#!/usr/bin/env node
/**
 * Build nabla's WebAssembly kernels from assembly/*.ts with AssemblyScript (a devDependency, pure JS:
 * no install script, no download). Binaries from one source:
 *   nabla.wasm     imports a plain memory: kernels run on the calling thread with fast copies in and out;
 *   nabla-mt.wasm  imports a shared memory: the same kernels, run by the calling thread and the worker pool;
 *   nabla-relaxed.wasm, nabla-mt-relaxed.wasm: the same with relaxed SIMD (fused multiply-add in matmul),
 *                  loaded instead where the engine accepts them.
 * Written next to the loader in src/backend/wasm/ and dist/backend/wasm/ (the .wasm files are not committed).
 * Runs as part of `npm run build` (and so of `npm install`).
 */
import { mkdirSync, copyFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { upToDate } from './up-to-date.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'assembly', 'index.ts');
const outDirs = [join(root, 'src', 'backend', 'wasm'), join(root, 'dist', 'backend', 'wasm')];

let asc;
try {
  asc = (await import('assemblyscript/asc')).default;
} catch (e) {
  console.error('build-wasm: assemblyscript is not installed (it is a devDependency: run `npm install`)');
  throw e;
}

// static data (the kernels' constants) from byte 266240 on: the bytes below are the JS side's control block, job
// descriptor and the threads' blocks, 32 of 8 KiB from 4096 (src/backend/wasm/arena.ts), and the arena starts after
// the data (heapBase).
// Each worker that instantiates the shared build writes the same constants over the same bytes again: harmless.
const common = [entry, '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd', '--importMemory', '--initialMemory', '16', '--memoryBase', '266240'];
const shared = ['--enable', 'threads', '--sharedMemory', '--maximumMemory', '65536'];
const relaxed = ['--enable', 'relaxed-simd', '--use', 'RELAXED=1'];
const strict = ['--use', 'RELAXED=0'];
const variants = [
  { file: 'nabla.wasm', flags: strict },
  { file: 'nabla-mt.wasm', flags: [...shared, ...strict] },
  // fused multiply-add in the matmul kernels, for engines with relaxed SIMD (Node 22+; Node 20 needs a flag)
  { file: 'nabla-relaxed.wasm', flags: relaxed },
  { file: 'nabla-mt-relaxed.wasm', flags: [...shared, ...relaxed] },
];

const outputs = outDirs.flatMap((d) => variants.map((v) => join(d, v.file)));
if (!process.argv.includes('--force') && upToDate(outputs, [join(root, 'assembly'), fileURLToPath(import.meta.url)])) {
  console.log('build-wasm: up to date (--force rebuilds)');
  process.exit(0);
}

for (const v of variants) {
  const out = join(outDirs[0], v.file);
  const t0 = Date.now();
  const { error, stderr } = await asc.main([...common, ...v.flags, '-o', out]);
  if (error) {
    console.error(stderr.toString());
    throw new Error(`build-wasm: ${v.file} failed: ${error.message}`);
  }
  for (const d of outDirs.slice(1)) {
    mkdirSync(d, { recursive: true });
    copyFileSync(out, join(d, v.file));
  }
  console.log(`build-wasm: ${v.file} (${statSync(out).size} bytes) in ${Date.now() - t0} ms`);
}
