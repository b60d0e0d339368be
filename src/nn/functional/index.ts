/**
 * nn.functional (also `nn.F`): layers and losses as plain functions, as torch.nn.functional.
 */
export { linear, sigmoid, relu, tanh, leakyRelu, gelu, softmax, logSoftmax, dropout } from './activation.js';
export type { DropoutOptions } from './activation.js';
export { conv2d } from '../../ops/conv.js';
export type { Conv2dOptions } from '../../ops/conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d } from '../../ops/pool.js';
export type { MaxPool2dOptions, AvgPool2dOptions } from '../../ops/pool.js';
export { batchNorm } from '../../ops/batchnorm.js';
export type { BatchNormOptions } from '../../ops/batchnorm.js';
export { dropout2d } from '../dropout2d.js';
export type { Dropout2dOptions } from '../dropout2d.js';
export {
  mseLoss, l1Loss, binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, nllLoss, oneHot,
} from './loss.js';
export type {
  Reduction, ReductionOptions, BCEOptions, BCEWithLogitsOptions, NLLLossOptions, CrossEntropyOptions,
} from './loss.js';
