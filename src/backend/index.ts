/** Backend registry with the reference CPU backend registered first. */
import { registerBackend } from './backend.js';
import { cpuBackend } from './cpu/index.js';
import { nativeBackend } from './native/index.js';

registerBackend(cpuBackend);
// the native addon's float32 kernels, when the addon is built (see src/backend/native)
if (nativeBackend) registerBackend(nativeBackend);

export { backend, setBackend, getBackend, listBackends, registerBackend } from './backend.js';
export type { Backend, View, UnaryOp, BinaryOp, ReduceOp, GemmArgs, Conv2dGeometry, PoolWindows } from './backend.js';
