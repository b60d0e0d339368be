/** Backend registry with the reference CPU backend registered first. */
import { listBackends, registerBackend, setBackend } from './backend.js';
import { cpuBackend } from './cpu/index.js';
import { raiseMallocThresholds } from './malloc.js';
import { nativeBackend, nativeUnavailableReason, warnIfNativeMissing } from './native/index.js';
import { wasmBackend, wasmUnavailableReason } from './wasm/index.js';

registerBackend(cpuBackend);
// the native addon's float32 kernels, when the addon is built (see src/backend/native); its load tunes malloc, and
// without it glibc is led to much the same setting (malloc.ts)
if (nativeBackend) registerBackend(nativeBackend);
else raiseMallocThresholds();
// WebAssembly SIMD kernels with a worker pool, when built (see src/backend/wasm)
if (wasmBackend) registerBackend(wasmBackend);

// default: native if available, then wasm, then cpu; NABLA_BACKEND=cpu|wasm|native overrides
{
  const wanted = process.env.NABLA_BACKEND;
  if (wanted) {
    if (!listBackends().includes(wanted)) {
      const why = wanted === 'wasm' ? wasmUnavailableReason : wanted === 'native' ? nativeUnavailableReason : null;
      throw new Error(`NABLA_BACKEND: backend '${wanted}' is not available${why ? ` (${why})` : ''}; available: ${listBackends().join(', ')}`);
    }
    setBackend(wanted);
  } else {
    setBackend(nativeBackend ? 'native' : wasmBackend ? 'wasm' : 'cpu');
    if (!nativeBackend) warnIfNativeMissing(wasmBackend ? 'wasm' : 'cpu'); // once, saying why
  }
}

export { backend, setBackend, getBackend, listBackends, registerBackend } from './backend.js';
export type { Backend, View, UnaryOp, BinaryOp, ReduceOp, GemmArgs, Conv2dGeometry, PoolWindows } from './backend.js';
