#!/usr/bin/env node
/**
 * Builds the native addon (native/ → build/Release/nabla_native.node) with node-gyp and the system C++
 * compiler, from Node headers already on this machine: nothing is downloaded.
 *
 * Run by `npm install` (the package's install script): a failed or impossible build only prints a note and
 * exits 0, so the install succeeds and nabla runs on its other backends. `npm run build:native` (--strict)
 * fails loudly instead and shows the compiler's output.
 *
 * An addon newer than every source is kept (`--force` rebuilds it). Environment: NABLA_SKIP_NATIVE=1 skips the build; npm_config_nodedir (npm's `nodedir` setting) points at
 * the headers; npm_config_node_gyp (set by npm) at node-gyp.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { upToDate } from './up-to-date.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const logFile = path.join(root, 'build', 'native-build.log');

function giveUp(reason, log) {
  if (log) {
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, log);
  }
  const where = log ? ` (log: ${path.relative(root, logFile)})` : '';
  console.warn(`nabla: the native addon was not built: ${reason}${where}. nabla will run on its other backends.`);
  process.exit(strict ? 1 : 0);
}

/** A directory with include/node/node_api.h: npm's nodedir, the running Node's prefix, node-gyp's cache. */
function findNodedir() {
  const version = process.versions.node;
  const candidates = [
    process.env.npm_config_nodedir,
    path.resolve(path.dirname(process.execPath), '..'),
    path.join(homedir(), '.cache', 'node-gyp', version),
    path.join(homedir(), '.node-gyp', version),
  ];
  return candidates.find((d) => d && existsSync(path.join(d, 'include', 'node', 'node_api.h')) &&
    existsSync(path.join(d, 'include', 'node', 'common.gypi')));
}

/** node-gyp's entry script: npm's (npm_config_node_gyp), a local dependency, or the one bundled with npm. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch { /* not a dependency */ }
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((p) => p && existsSync(p));
}

if (process.env.NABLA_SKIP_NATIVE === '1') giveUp('NABLA_SKIP_NATIVE=1 is set');
if (process.arch !== 'x64') giveUp(`its kernels need an x86-64 CPU with AVX2 (this is ${process.arch})`);
const nodedir = findNodedir();
if (!nodedir) giveUp('no local Node headers (include/node/node_api.h) were found, and nothing is downloaded; set npm\'s nodedir');
const nodeGyp = findNodeGyp();
if (!nodeGyp) giveUp('node-gyp was not found (it comes with npm)');

const addon = path.join(root, 'build', 'Release', 'nabla_native.node');
if (!process.argv.includes('--force') &&
  upToDate([addon], [path.join(root, 'native', 'src'), path.join(root, 'binding.gyp'), fileURLToPath(import.meta.url)])) {
  console.log('nabla: native addon up to date (build/Release/nabla_native.node; --force rebuilds)');
  process.exit(0);
}

const started = Date.now();
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, npm_config_nodedir: nodedir },
  maxBuffer: 64 * 1024 * 1024,
});
const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
if (r.error) giveUp(`node-gyp could not start (${r.error.message})`, log);
if (r.status !== 0) {
  if (strict) process.stderr.write(log);
  const firstError = log.split('\n').find((l) => /error/i.test(l) && !/^gyp (info|verb)/.test(l));
  giveUp(`the build failed${firstError ? `: ${firstError.trim()}` : ''}`, log);
}
mkdirSync(path.dirname(logFile), { recursive: true });
writeFileSync(logFile, log);
console.log(`nabla: native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s (build/Release/nabla_native.node)`);
