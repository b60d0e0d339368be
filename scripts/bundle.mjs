#!/usr/bin/env node
/**
 * The package entry, dist/nabla.js: dist/index.js (tsc's output) and every module it imports, bundled by esbuild
 * (a devDependency) into one ES module, so that `import ... from 'nabla'` loads one file instead of about a hundred:
 * Node's module loader (resolving, reading, compiling and linking each file) took most of the 115–145 ms of import.
 * The `nabla` command gets the same treatment (dist/nabla-cli.js, run by bin/nabla.js in its own process). The wasm
 * kernels are copied next to them (the loader finds them beside its own module). The other files of dist/ stay: their
 * type declarations, and the benchmarks' and tools' imports of internal modules use them.
 * Runs as part of `npm run build` (and so of `npm install`), after tsc.
 */
import { copyFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const t0 = performance.now();
const bundle = (entry, outfile) => build({
  entryPoints: [join(dist, entry)], outfile: join(dist, outfile), bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning',
});
// the library, and the `nabla` command (bin/nabla.js) with its own copy: it runs in its own process
await Promise.all([bundle('index.js', 'nabla.js'), bundle('cli/main.js', 'nabla-cli.js')]);
for (const f of readdirSync(join(dist, 'backend', 'wasm'))) {
  if (f.endsWith('.wasm')) copyFileSync(join(dist, 'backend', 'wasm', f), join(dist, f));
}
console.log(`bundle: dist/nabla.js, dist/nabla-cli.js in ${Math.round(performance.now() - t0)} ms`);
