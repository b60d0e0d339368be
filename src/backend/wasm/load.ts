/**
 * Loading the kernels (nabla.wasm and nabla-mt.wasm, built from assembly/ by `npm install`, next to this file).
 * Loading never throws: on failure the reason is kept and nabla runs on the other backends.
 * Everything is synchronous (a few ms): the module is small, and import stays fast.
 */
import { readFileSync } from 'node:fs';

/** The kernels' exports (see assembly/index.ts). Pointers and sizes are in bytes, counts in elements. */
export interface WasmExports {
  heapBase(): number;
  /** This instance's 128-byte scratch block for partial gemm tiles (each thread has its own). */
  setScratch(p: number): void;
  gemmTiles(desc: number, lo: number, hi: number): void;
  transpose(src: number, rows: number, cols: number, srs: number, dst: number): void;
  unary(op: number, x: number, out: number, n: number): void;
  binary2d(op: number, a: number, am: number, b: number, bm: number, out: number, R: number, C: number): void;
  activationGrad(op: number, y: number, g: number, out: number, n: number): void;
  sumRows(x: number, outer: number, n: number, out: number): void;
  sumCols(x: number, outer: number, n: number, inner: number, out: number, acc: number): void;
  sgd(p: number, g: number, buf: number, n: number, lr: number, momentum: number, oneMinusDampening: number, wd: number,
    nesterov: number, maximize: number, first: number): void;
  adam(p: number, g: number, m: number, v: number, vmax: number, n: number, beta1: number, oneMinusBeta1: number,
    beta2: number, oneMinusBeta2: number, eps: number, wd: number, decay: number, decoupled: number, maximize: number,
    stepSize: number, bc2sqrt: number): void;
  logSoftmaxRows(x: number, R: number, C: number, out: number, wantSoftmax: number): void;
  bceForward(p: number, y: number, out: number, n: number): number;
  bceBackward(p: number, y: number, g: number, gScalar: number, out: number, n: number): void;
}

export interface Loaded {
  /** Kernels on a plain memory, for the calling thread. */
  plain: { exports: WasmExports; memory: WebAssembly.Memory } | null;
  /** The shared-memory build, compiled (instantiated per thread by the pool), with its memory. */
  shared: { module: WebAssembly.Module; exports: WasmExports; memory: WebAssembly.Memory } | null;
  error: string | null;
}

const MAX_PAGES = 65536;

function compile(file: string): WebAssembly.Module {
  return new WebAssembly.Module(readFileSync(new URL(`./${file}`, import.meta.url)));
}

export function loadKernels(): Loaded {
  const out: Loaded = { plain: null, shared: null, error: null };
  try {
    const memory = new WebAssembly.Memory({ initial: 16 });
    const inst = new WebAssembly.Instance(compile('nabla.wasm'), { env: { memory } });
    out.plain = { exports: inst.exports as unknown as WasmExports, memory };
  } catch (e) {
    out.error = `cannot load nabla.wasm (${(e as Error).message}); run \`npm run build\``;
    return out;
  }
  try {
    const module = compile('nabla-mt.wasm');
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const inst = new WebAssembly.Instance(module, { env: { memory } });
    out.shared = { module, exports: inst.exports as unknown as WasmExports, memory };
  } catch {
    // no shared memory (or no build of it): the backend runs on the calling thread only
  }
  return out;
}
