/**
 * The four steps put together (trainStep), evaluation, and the per-layer numbers a learner
 * prints or plots: how big δ and the gradients are at each depth.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { eq, gt, mul, sqrt } from '../ops/elementwise.js';
import { argmax, mean, sum } from '../ops/reduce.js';
import { to } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { derivative } from './activations.js';
import { targetMatrix } from './losses.js';
import type { Network } from './network.js';
import { type ForwardPass, type Gradients, backpropagate, calculateLoss, forward, updateWeights } from './steps.js';

/** The size of the error and the gradients at one layer, for one step. */
export interface LayerStats {
  /** Layer index (0 is the first hidden layer, L − 1 the output layer). */
  layer: number;
  /** Mean over the batch of ‖δₙ‖₂, the error of one sample at this layer. */
  deltaNorm: number;
  /** ‖∇W‖ (Frobenius). */
  weightGradNorm: number;
  /** ‖∇b‖₂. */
  biasGradNorm: number;
  /** Mean of f′(z) over batch and units: the factor this layer multiplies δ by on its way down (σ′ ≤ ¼). */
  meanDerivative: number;
}

export interface StepResult {
  /** The loss before the update. */
  loss: number;
  /** Per-layer numbers, when the step was asked to record them. */
  layers?: LayerStats[];
}

export interface TrainStepOptions {
  /** Learning rate η. */
  lr: number;
  /** Also compute every layer's δ and gradient norms (see LayerStats). */
  record?: boolean;
}

/** forward → calculateLoss → backpropagate → updateWeights on one batch. */
export function trainStep(net: Network, x: Tensor, target: Tensor, opts: TrainStepOptions): StepResult {
  const pass = forward(net, x);
  const loss = calculateLoss(net, pass, target);
  const grads = backpropagate(net, pass, target);
  const layers = opts.record ? layerStats(net, pass, grads) : undefined;
  updateWeights(net, grads, opts.lr);
  return layers ? { loss, layers } : { loss };
}

const norm = (t: Tensor): number => sqrt(sum(mul(t, t))).item();

/** Every layer's δ norm, gradient norms and mean f′, from one forward pass and its gradients. */
export function layerStats(net: Network, pass: ForwardPass, grads: Gradients): LayerStats[] {
  return noGrad(() => net.layers.map((layer, l) => {
    const d = grads.deltas[l]!;
    return {
      layer: l,
      deltaNorm: mean(sqrt(sum(mul(d, d), 1))).item(),
      weightGradNorm: norm(grads.weight[l]!),
      biasGradNorm: norm(grads.bias[l]!),
      meanDerivative: mean(derivative(layer.activation, pass.z[l]!, pass.a[l]!)).item(),
    };
  }));
}

export interface Evaluation {
  loss: number;
  /**
   * Fraction classified right: argmax of output against the target class when there are several
   * outputs, output > ½ against target > ½ when there is one.
   */
  accuracy: number;
}

/** Loss and accuracy of the network on (x, target), without changing it. */
export function evaluate(net: Network, x: Tensor, target: Tensor): Evaluation {
  const pass = forward(net, x);
  const loss = calculateLoss(net, pass, target);
  return noGrad(() => {
    const out = pass.output, n = out.shape[0]!, c = out.shape[1]!;
    let right: Tensor;
    if (c === 1) {
      const y = targetMatrix(net.loss, out, target, 'classic.evaluate');
      const threshold = net.loss === 'crossEntropy' ? 0 : 0.5;
      right = eq(gt(out, threshold), gt(y, 0.5));
    } else {
      const labels = target.dtype === 'int32' && target.ndim === 1 ? target : argmax(targetMatrix(net.loss, out, target, 'classic.evaluate'), 1);
      right = eq(argmax(out, 1), labels);
    }
    return { loss, accuracy: sum(to(right, 'float64')).item() / n };
  });
}
