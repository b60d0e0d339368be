/**
 * nabla.optim: optimizers, learning-rate schedulers and gradient clipping (torch.optim).
 */
export { Optimizer } from './optimizer.js';
export type { OptimizerStateDict, ParamGroup, ParamGroupInput, ParamState, ParamsInput } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export type { SgdStepArgs, AdamStepArgs, FusedOptimizerKernels } from './fused.js';
