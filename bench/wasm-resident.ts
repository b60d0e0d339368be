/**
 * The classic MLP's kernel sequence on the wasm backend with ordinary (copied) and resident arrays:
 * forward product x [64, 784] · W [100, 784]ᵀ, sigmoid over [64, 100], weight gradient gᵀ · x ([64, 100]ᵀ · [64, 784]),
 * and the fused SGD step on W (78 400 floats), on 1 and 2 threads; then the two kernels outside the products alone.
 * Prints µs per step, medians of interleaved runs (the pool does not step aside on a busy machine here).
 *
 *   node --import tsx bench/wasm-resident.ts [steps per run, default 400] [runs, default 9]
 */
import { setWasmOptions, wasmBackend, wasmInfo } from '../src/backend/wasm/index.js';
import type { GemmArgs } from '../src/backend/backend.js';

const b = wasmBackend;
if (!b?.allocateResident) throw new Error('bench/wasm-resident: the wasm backend (with shared memory) is not available');
const steps = Number(process.argv[2] ?? 400), runs = Number(process.argv[3] ?? 9);
const B = 64, IN = 784, OUT = 100;

interface Arrays { x: Float32Array; w: Float32Array; h: Float32Array; y: Float32Array; g: Float32Array; gw: Float32Array }

function arrays(resident: boolean): Arrays {
  const make = (n: number): Float32Array => (resident ? b!.allocateResident!('float32', n) as Float32Array : new Float32Array(n));
  const a: Arrays = { x: make(B * IN), w: make(OUT * IN), h: make(B * OUT), y: make(B * OUT), g: make(B * OUT), gw: make(OUT * IN) };
  for (let i = 0; i < a.x.length; i++) a.x[i] = ((i * 7919) % 256) / 255;
  for (let i = 0; i < a.w.length; i++) a.w[i] = Math.sin(i) * 0.05;
  for (let i = 0; i < a.g.length; i++) a.g[i] = Math.cos(i) * 1e-3;
  return a;
}

const view = (data: Float32Array, shape: number[]) => ({ data, shape, strides: shape.length === 2 ? [shape[1]!, 1] : [1], offset: 0 });

function step(a: Arrays, products = true): void {
  const fwd: GemmArgs = {
    batch: 1, M: B, N: OUT, K: IN, a: a.x, aOffset: 0, lda: IN, transA: false, aBatchStride: 0,
    b: a.w, bOffset: 0, ldb: IN, transB: true, bBatchStride: 0, c: a.h,
  };
  if (products) b!.gemm(fwd);
  b!.unary('sigmoid', view(a.h, [B, OUT]), a.y);
  const wgrad: GemmArgs = {
    batch: 1, M: OUT, N: IN, K: B, a: a.g, aOffset: 0, lda: OUT, transA: true, aBatchStride: 0,
    b: a.x, bOffset: 0, ldb: IN, transB: false, bBatchStride: 0, c: a.gw,
  };
  if (products) b!.gemm(wgrad);
  (b as unknown as { sgdStep(s: object): void }).sgdStep({
    param: a.w, grad: a.gw, momentumBuffer: null, n: OUT * IN, lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0,
    nesterov: false, maximize: false, firstStep: true,
  });
}

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;

const copied = arrays(false), resident = arrays(true);
console.log(`wasm kernels of one classic-MLP step (${steps} steps × ${runs} runs, medians; relaxed SIMD ${wasmInfo()!.relaxedSimd})`);
for (const [threads, products] of [[1, true], [2, true], [1, false]] as const) {
  setWasmOptions({ threads, yieldWhenBusy: false });
  for (let i = 0; i < 200; i++) { step(copied, products); step(resident, products); } // warm-up (JIT, pool start)
  const t: Record<string, number[]> = { copied: [], resident: [] };
  for (let r = 0; r < runs; r++) {
    for (const [name, a] of [['copied', copied], ['resident', resident]] as const) {
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) step(a, products);
      t[name]!.push(((performance.now() - t0) * 1000) / steps);
    }
  }
  const c = median(t.copied!), res = median(t.resident!);
  const what = products ? `${threads} thread${threads > 1 ? 's' : ' '}` : 'sigmoid + sgd only';
  console.log(`${what}: copied ${c.toFixed(1)} µs/step, resident ${res.toFixed(1)} µs/step (best ${Math.min(...t.copied!).toFixed(1)} / ${Math.min(...t.resident!).toFixed(1)}), ${(c / res).toFixed(2)}×`);
}
process.exit(0);
