/** The loss and optimizer a configuration names. */
import { binaryCrossEntropy, crossEntropy, mseLoss, oneHot } from '../nn/functional/loss.js';
import { Adam, AdamW } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LossFn } from '../train/loop.js';
import type { LossName, TrainConfig } from './config.js';

/** The loss of a batch from the network's output and the int32 labels. */
export function buildLossFn(loss: LossName): LossFn {
  switch (loss) {
    // one-hot targets against sigmoid outputs, mean over the N×10 elements (torch.nn.BCELoss)
    case 'bce': return (out, y) => binaryCrossEntropy(out, oneHot(y, 10).float());
    case 'mse': return (out, y) => mseLoss(out, oneHot(y, 10).float());
    // class indices against logits (torch.nn.CrossEntropyLoss)
    case 'ce': return (out, y) => crossEntropy(out, y);
  }
}

export function buildOptimizer(c: TrainConfig, params: Tensor[]): Optimizer {
  switch (c.optimizer) {
    case 'sgd': return new SGD(params, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay });
    case 'adam': return new Adam(params, { lr: c.lr, weightDecay: c.weightDecay });
    case 'adamw': return new AdamW(params, { lr: c.lr, weightDecay: c.weightDecay });
  }
}

/** `SGD lr 0.1`, `SGD lr 0.05 momentum 0.9`, `AdamW lr 0.001 weight decay 0.01`. */
export function describeOptimizer(c: TrainConfig): string {
  const name = { sgd: 'SGD', adam: 'Adam', adamw: 'AdamW' }[c.optimizer];
  const parts = [`${name} lr ${c.lr}`];
  if (c.optimizer === 'sgd' && c.momentum) parts.push(`momentum ${c.momentum}`);
  if (c.weightDecay) parts.push(`weight decay ${c.weightDecay}`);
  if (c.scheduler !== 'none') parts.push(`${c.scheduler} schedule`);
  return parts.join(' ');
}
