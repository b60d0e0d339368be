/** Backend registry with the reference CPU backend registered first. */
import { registerBackend } from './backend.js';
import { cpuBackend } from './cpu/index.js';

registerBackend(cpuBackend);

export { backend, setBackend, getBackend, listBackends, registerBackend } from './backend.js';
export type { Backend, View, UnaryOp, BinaryOp, ReduceOp, GemmArgs, Conv2dGeometry, PoolWindows } from './backend.js';
