/**
 * nn.BatchNorm1d and nn.BatchNorm2d: per-channel normalisation with learned scale and shift, and
 * running statistics kept as buffers under PyTorch's names (`running_mean`, `running_var`,
 * `num_batches_tracked`), so state dicts move to and from PyTorch unchanged.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { batchNorm } from '../ops/batchnorm.js';
import { add } from '../ops/elementwise.js';
import { copy_, fill_ } from '../ops/shape.js';
import { full, ones, zeros } from '../tensor/create.js';
import type { DType } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { pyFloat } from './activation.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface BatchNormModuleOptions {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Weight of each new batch in the running statistics; null for a cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learn a per-channel scale (weight, init 1) and shift (bias, init 0). Default true. */
  affine?: boolean;
  /** Keep running statistics for evaluation; when false, batch statistics are used in eval mode too. Default true. */
  trackRunningStats?: boolean;
  /** Default float32. */
  dtype?: DType;
}

/** A float as Python's repr writes it (1e-05, 0.001, 1.0). */
const pyRepr = (v: number): string =>
  v !== 0 && Math.abs(v) < 1e-4 ? v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2') : pyFloat(v);

abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;

  constructor(numFeatures: number, opts: BatchNormModuleOptions) {
    super();
    const name = this.constructor.name;
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`${name}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`${name}: momentum must be in [0, 1] or null, got ${this.momentum}`);
    if (!(this.eps > 0)) throw new Error(`${name}: eps must be positive, got ${this.eps}`);
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.weight = this.affine ? new Parameter(ones([numFeatures], { dtype })) : null;
    this.bias = this.affine ? new Parameter(zeros([numFeatures], { dtype })) : null;
    const track = this.trackRunningStats;
    this.registerBuffer('running_mean', track ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer('num_batches_tracked', track ? full([], 0, { dtype: 'int32' }) : null);
  }

  /** The input's rank check, naming the layer and the expected layout. */
  protected abstract checkInput(input: Tensor): void;

  /** Running statistics back to mean 0, variance 1, no batches seen. */
  resetRunningStats(): void {
    noGrad(() => {
      if (this.running_mean) fill_(this.running_mean, 0);
      if (this.running_var) fill_(this.running_var, 1);
      if (this.num_batches_tracked) fill_(this.num_batches_tracked, 0);
    });
  }

  override forward(input: Tensor): Tensor {
    this.checkInput(input);
    if (input.shape[1] !== this.numFeatures) {
      throw new Error(`${this.constructor.name}(${this.numFeatures}): expected ${this.numFeatures} channels in dim 1, got input ${fmt(input.shape)}`);
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      const tracked = this.num_batches_tracked;
      noGrad(() => copy_(tracked, add(tracked, 1))); // kernels, so that a compiled step counts too
      if (this.momentum === null) factor = 1 / tracked.item(); // cumulative moving average
    }
    // batch statistics while training, and in eval mode too when no running statistics are kept
    const useBatch = this.training || (!this.running_mean && !this.running_var);
    const keep = !this.training || this.trackRunningStats;
    return batchNorm(input, keep ? this.running_mean : null, keep ? this.running_var : null, this.weight, this.bias,
      { training: useBatch, momentum: factor, eps: this.eps });
  }

  override extraRepr(): string {
    const m = this.momentum === null ? 'None' : pyFloat(this.momentum);
    const b = (v: boolean): string => (v ? 'True' : 'False');
    return `${this.numFeatures}, eps=${pyRepr(this.eps)}, momentum=${m}, affine=${b(this.affine)}, track_running_stats=${b(this.trackRunningStats)}`;
  }
}

/** Batch norm over [N, C] or [N, C, L] (torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts);
  }
  protected override checkInput(input: Tensor): void {
    if (input.ndim !== 2 && input.ndim !== 3) throw new Error(`BatchNorm1d: expected input [N, ${this.numFeatures}] or [N, ${this.numFeatures}, L], got ${fmt(input.shape)}`);
  }
}

/** Batch norm over [N, C, H, W], one mean and variance per channel (torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts);
  }
  protected override checkInput(input: Tensor): void {
    if (input.ndim !== 4) throw new Error(`BatchNorm2d: expected input [N, ${this.numFeatures}, H, W], got ${fmt(input.shape)}`);
  }
}
