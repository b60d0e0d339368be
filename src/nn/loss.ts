/**
 * Loss modules over nn.functional's losses. `weight` and `posWeight` are registered as buffers
 * under PyTorch's names (`weight`, `pos_weight`), so they appear in `stateDict()` as in PyTorch.
 */
import type { Tensor } from '../tensor/tensor.js';
import * as F from './functional/loss.js';
import { Module } from './module.js';

function checkReduction(r: F.Reduction | undefined, owner: string): F.Reduction {
  const v = r ?? 'mean';
  if (v !== 'mean' && v !== 'sum' && v !== 'none') throw new Error(`${owner}: reduction must be 'mean', 'sum' or 'none', got '${String(v)}'`);
  return v;
}

/** Mean squared error (x − y)². `loss = criterion.call(output, target)`. */
export class MSELoss extends Module {
  readonly reduction: F.Reduction;
  constructor(opts: F.ReductionOptions = {}) { super(); this.reduction = checkReduction(opts.reduction, 'MSELoss'); }
  override forward(input: Tensor, target: Tensor): Tensor { return F.mseLoss(input, target, { reduction: this.reduction }); }
}

/** Mean absolute error |x − y|. */
export class L1Loss extends Module {
  readonly reduction: F.Reduction;
  constructor(opts: F.ReductionOptions = {}) { super(); this.reduction = checkReduction(opts.reduction, 'L1Loss'); }
  override forward(input: Tensor, target: Tensor): Tensor { return F.l1Loss(input, target, { reduction: this.reduction }); }
}

/** Binary cross entropy on probabilities (apply Sigmoid first); logs clamped at −100 as PyTorch. */
export class BCELoss extends Module {
  readonly reduction: F.Reduction;
  declare weight: Tensor | null;
  constructor(opts: F.BCEOptions = {}) {
    super();
    this.reduction = checkReduction(opts.reduction, 'BCELoss');
    this.registerBuffer('weight', opts.weight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/** Sigmoid + binary cross entropy in one stable step, on logits; optional `weight` and `posWeight`. */
export class BCEWithLogitsLoss extends Module {
  readonly reduction: F.Reduction;
  declare weight: Tensor | null;
  declare pos_weight: Tensor | null;
  constructor(opts: F.BCEWithLogitsOptions = {}) {
    super();
    this.reduction = checkReduction(opts.reduction, 'BCEWithLogitsLoss');
    this.registerBuffer('weight', opts.weight ?? null);
    this.registerBuffer('pos_weight', opts.posWeight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.pos_weight, reduction: this.reduction });
  }
}

/** logSoftmax + nllLoss on logits, with int32 class-index targets; `weight`, `ignoreIndex`, `labelSmoothing`. */
export class CrossEntropyLoss extends Module {
  readonly reduction: F.Reduction;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  declare weight: Tensor | null;
  constructor(opts: F.CrossEntropyOptions = {}) {
    super();
    this.reduction = checkReduction(opts.reduction, 'CrossEntropyLoss');
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing <= 1)) throw new Error(`CrossEntropyLoss: labelSmoothing must be between 0 and 1, got ${this.labelSmoothing}`);
    this.registerBuffer('weight', opts.weight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction, labelSmoothing: this.labelSmoothing });
  }
}

/** Negative log likelihood of log-probabilities (after LogSoftmax), with int32 class-index targets. */
export class NLLLoss extends Module {
  readonly reduction: F.Reduction;
  readonly ignoreIndex: number;
  declare weight: Tensor | null;
  constructor(opts: F.NLLLossOptions = {}) {
    super();
    this.reduction = checkReduction(opts.reduction, 'NLLLoss');
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.registerBuffer('weight', opts.weight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

