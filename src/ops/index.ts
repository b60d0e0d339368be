/** The op layer's public surface: free functions, with the Tensor methods installed on import. */
import { installEngineOps } from '../autograd/engine.js';
import { onesLike } from '../tensor/create.js';
import { add } from './elementwise.js';
import { sumTo } from './reduce.js';
import { contiguous, to } from './shape.js';
import './methods.js';

installEngineOps({ add, sumTo, onesLike: (t) => onesLike(t), cast: to, contiguous });

export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './softmax.js';
export { conv2d } from './conv.js';
export type { Conv2dOptions, Pair } from './conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d } from './pool.js';
export type { MaxPool2dOptions, AvgPool2dOptions } from './pool.js';
export { batchNorm } from './batchnorm.js';
export type { BatchNormOptions } from './batchnorm.js';
export { dataSync, toArray, format } from './format.js';
export type { Scalar, TensorLike } from './util.js';
