/**
 * nabla.nn: modules, layers, losses, initialisers and the functional interface (torch.nn).
 *
 * @example
 * const model = new nn.Sequential(new nn.Linear(784, 100), new nn.ReLU(), new nn.Linear(100, 10));
 * const loss = nn.F.crossEntropy(model.call(x), labels);
 */
export { Parameter } from './parameter.js';
export { Module } from './module.js';
export type { StateDict, LoadResult } from './module.js';
export { Linear, Identity } from './linear.js';
export type { LinearOptions } from './linear.js';
export { Sigmoid, ReLU, Tanh, LeakyReLU, GELU, Softmax, LogSoftmax } from './activation.js';
export { Dropout } from './dropout.js';
export { Flatten } from './flatten.js';
export { Sequential, ModuleList } from './container.js';
export { Conv2d } from './conv.js';
export type { Conv2dOptions } from './conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling.js';
export { BatchNorm1d, BatchNorm2d } from './batchnorm.js';
export type { BatchNormModuleOptions } from './batchnorm.js';
export { Dropout2d } from './dropout2d.js';
export { MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss } from './loss.js';
export * as functional from './functional/index.js';
export * as F from './functional/index.js';
export * as init from './init.js';
