/** Training helpers: the classic loop, evaluation, metrics, progress output and checkpoints. */
export {
  fit, trainEpoch, evaluate, EarlyStopping, formatEpochSummary,
  type FitOptions, type TrainEpochOptions, type EvaluateOptions, type EvaluateResult, type History, type EpochSummary,
  type BatchInfo, type Callback, type Monitor, type ModelLike, type OptimizerLike, type LossFn, type BatchSource,
} from './loop.js';
export { accuracy, correctCount, confusionMatrix, formatConfusionMatrix, predictions } from './metrics.js';
export { type Progress, BarProgress, LineProgress, createProgress, formatRunningLoss, formatDuration } from './progress.js';
export { saveCheckpoint, loadCheckpoint, readCheckpoint, restoreCheckpoint, type RestoreTargets, type CheckpointContents, type LoadedCheckpoint, type StateDictHolder, type OptimizerStateHolder } from './checkpoint.js';
