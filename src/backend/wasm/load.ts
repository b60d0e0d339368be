/**
 * Loading the kernels (nabla.wasm and nabla-mt.wasm, built from assembly/ by `npm install`, next to this file).
 * Loading never throws: on failure the reason is kept and nabla runs on the other backends.
 * Everything is synchronous (a few ms): the module is small, and import stays fast.
 */
import { readFileSync } from 'node:fs';

/** The kernels' exports (see assembly/index.ts). Pointers and sizes are in bytes, counts in elements. */
export interface WasmExports {
  heapBase(): number;
  /** This instance's block of memory (THREAD_BYTES, arena.ts): scratch for partial vectors and tiles, gemm's memo. */
  setScratch(p: number): void;
  gemmTiles(desc: number, lo: number, hi: number): void;
  /** dst (cols × rows, row stride drs bytes) = src (rows × cols, row stride srs bytes) transposed. */
  transpose(src: number, rows: number, cols: number, srs: number, dst: number, drs: number): void;
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
  /** Part t of the SGD / Adam step described at desc (assembly/fused.ts: sgdPart, adamPart). */
  sgdPart(desc: number, t: number): void;
  adamPart(desc: number, t: number): void;
  softmaxRows(x: number, R: number, C: number, out: number, wantLog: number): void;
  bceForward(p: number, y: number, out: number, n: number): number;
  bceBackward(p: number, y: number, g: number, gScalar: number, out: number, n: number): void;
  /** memmove of n bytes within memory. */
  copyBytes(dst: number, src: number, n: number): void;
  /** n zero bytes at p. */
  zeroBytes(p: number, n: number): void;
  /** out[i] = table[src[i]] for i < n (src bytes, table 256 float32). */
  lookupU8(src: number, n: number, table: number, out: number): void;
  /** Rows idx[0 … n−1] (int32 at idx) of row bytes each at src, decoded through table into n rows of floats at out. */
  gatherLookupU8(src: number, row: number, idx: number, n: number, table: number, out: number): void;
  /** Rows of x picked by int32 indices at idx (stride is elements) into out; −1, or the first j whose index is out of range. */
  gatherRows(x: number, idx: number, is: number, J: number, size: number, outer: number, inner: number, out: number): number;
}

export interface Loaded {
  /** Kernels on a plain memory, for the calling thread. */
  plain: { exports: WasmExports; memory: WebAssembly.Memory } | null;
  /** The shared-memory build, compiled (instantiated per thread by the pool), with its memory. */
  shared: { module: WebAssembly.Module; exports: WasmExports; memory: WebAssembly.Memory } | null;
  error: string | null;
  /** Whether the relaxed-SIMD builds (fused multiply-add) were loaded. */
  relaxed: boolean;
}

const MAX_PAGES = 65536;

function compile(file: string): WebAssembly.Module {
  return new WebAssembly.Module(readFileSync(new URL(`./${file}`, import.meta.url)));
}

/** The relaxed-SIMD build when the engine compiles it (Node 22+, or Node 20 with --experimental-wasm-relaxed-simd), else the strict one. */
function compileBest(strict: string, relaxed: string, useRelaxed: boolean): { module: WebAssembly.Module; relaxed: boolean } {
  if (useRelaxed) {
    try {
      return { module: compile(relaxed), relaxed: true };
    } catch {
      // no relaxed SIMD in this engine (or no such build): the strict build
    }
  }
  return { module: compile(strict), relaxed: false };
}

export function loadKernels(): Loaded {
  const out: Loaded = { plain: null, shared: null, error: null, relaxed: false };
  const useRelaxed = process.env.NABLA_WASM_RELAXED !== '0';
  try {
    const memory = new WebAssembly.Memory({ initial: 16 });
    const best = compileBest('nabla.wasm', 'nabla-relaxed.wasm', useRelaxed);
    const inst = new WebAssembly.Instance(best.module, { env: { memory } });
    out.plain = { exports: inst.exports as unknown as WasmExports, memory };
    out.relaxed = best.relaxed;
  } catch (e) {
    out.error = `cannot load nabla.wasm (${(e as Error).message}); run \`npm run build\``;
    return out;
  }
  try {
    const module = compileBest('nabla-mt.wasm', 'nabla-mt-relaxed.wasm', out.relaxed).module;
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const inst = new WebAssembly.Instance(module, { env: { memory } });
    out.shared = { module, exports: inst.exports as unknown as WasmExports, memory };
  } catch {
    // no shared memory (or no build of it): the backend runs on the calling thread only
  }
  return out;
}
