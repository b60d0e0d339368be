/**
 * nn.functional (also `nn.F`): layers and losses as plain functions, as torch.nn.functional.
 */
export { linear, sigmoid, relu, tanh, leakyRelu, gelu, softmax, logSoftmax, dropout } from './activation.js';
export type { DropoutOptions } from './activation.js';
export {
  mseLoss, l1Loss, binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, nllLoss, oneHot,
} from './loss.js';
export type {
  Reduction, ReductionOptions, BCEOptions, BCEWithLogitsOptions, NLLLossOptions, CrossEntropyOptions,
} from './loss.js';
