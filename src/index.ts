/**
 * nabla: deep learning for TypeScript. Eager tensors, reverse-mode autograd, nn, optim, data, training.
 */
import './backend/index.js';
import './ops/index.js';
import * as autogradNs from './autograd/index.js';

export { Tensor } from './tensor/tensor.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.js';
export * from './tensor/create.js';
export * from './ops/index.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/grad-mode.js';
export { compile } from './autograd/compile.js';
export type { Compiled, CompileOptions, CompileStats } from './autograd/compile.js';
export { setBackend, getBackend, listBackends } from './backend/index.js';
export { nativeInfo, setNativeOptions } from './backend/native/index.js';
export type { NativeInfo, NativeOptions } from './backend/native/index.js';
export const autograd = autogradNs;
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as classic from './classic/index.js';
export * as data from './data/index.js';
export * as datasets from './data/datasets.js';
export * as io from './io/index.js';
export * as train from './train/index.js';
