/**
 * nabla's WebAssembly kernels (AssemblyScript, SIMD128). The module imports its memory; the JS side
 * (src/backend/wasm) owns the layout: a control block, a job descriptor and a scratch arena.
 * The same source is built twice: against a plain memory (calling thread only) and a shared one (thread pool).
 */
export { gemmTiles, transpose } from './gemm';
export { setScratch, copyBytes, zeroBytes } from './scratch';
export { unary, binary2d, activationGrad } from './elementwise';
export { sumRows, sumCols } from './reduce';
export { sgd, adam, sgdPart, adamPart, softmaxRows, bceForward, bceBackward } from './fused';
export { lookupU8, gatherLookupU8, gatherRows } from './data';

/** First free byte after the module's static data. */
export function heapBase(): usize { return __heap_base; }
