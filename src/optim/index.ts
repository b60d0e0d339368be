/**
 * nabla.optim: optimizers, learning-rate schedulers and gradient clipping (torch.optim).
 *
 * @example
 * const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
 * const sched = new optim.CosineAnnealingLR(opt, { tMax: epochs });
 */
export { Optimizer } from './optimizer.js';
export type { OptimizerStateDict, ParamGroup, ParamGroupInput, ParamState, ParamsInput } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions } from './adam.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions } from './rmsprop.js';
export { LRScheduler, StepLR, CosineAnnealingLR, LinearLR } from './lr-scheduler.js';
export type { SchedulerStateDict } from './lr-scheduler.js';
export { clipGradNorm, clipGradValue } from './clip.js';
export type { SgdStepArgs, AdamStepArgs, FusedOptimizerKernels } from './fused.js';
export * as lrScheduler from './lr-scheduler.js';
