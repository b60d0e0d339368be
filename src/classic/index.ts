/**
 * nabla/classic: backpropagation written out by hand. An MLP of any depth, trained in four
 * explicit steps (forward, calculateLoss, backpropagate, updateWeights) with matrix ops only,
 * no autograd. Its gradients equal autograd's; see docs/backprop.md for the derivation.
 */
export { type Activation, ACTIVATIONS, activate, derivative } from './activations.js';
export { type Loss, LOSSES, lossValue, outputDelta, oneHot } from './losses.js';
export { Network, type Layer, type NetworkOptions, type StateDict } from './network.js';
export { forward, calculateLoss, backpropagate, updateWeights, type ForwardPass, type Gradients } from './steps.js';
export { trainStep, layerStats, evaluate, type LayerStats, type StepResult, type TrainStepOptions, type Evaluation } from './train.js';
export { fromModule, toModule, copyToModule } from './modules.js';
