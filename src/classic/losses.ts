/**
 * The losses of the classic engine, each with its output error δᴸ written out by hand.
 *
 * Conventions are PyTorch's, so gradients equal autograd's exactly:
 *   mse           L = mean over all N·C elements of (a − y)²                  (nn.MSELoss())
 *   bce           L = mean over all N·C elements of −[y ln a + (1−y) ln(1−a)] (nn.BCELoss() on sigmoid outputs)
 *   crossEntropy  L = mean over the N samples of −Σ_c y_c ln softmax(z)_c     (nn.CrossEntropyLoss() on logits)
 * Writing L = (1/N) Σₙ ℓₙ, the engine's δᴸ is the per-sample error ∂ℓₙ/∂zᴸₙ (one row per sample);
 * the 1/N appears once, in ∇W = δᵀa / N.
 */
import { add, clamp, div, log, mul, sub } from '../ops/elementwise.js';
import { mean, sum } from '../ops/reduce.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import { contiguous, to } from '../ops/shape.js';
import { isFloat } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type Activation, derivative } from './activations.js';

export type Loss = 'mse' | 'bce' | 'crossEntropy';
export const LOSSES: readonly Loss[] = ['mse', 'bce', 'crossEntropy'];

export function isLoss(x: unknown): x is Loss {
  return typeof x === 'string' && (LOSSES as readonly string[]).includes(x);
}

/** The output activation each loss is written for (mse takes any). */
export function requiredOutputActivation(loss: Loss): Activation | null {
  return loss === 'bce' ? 'sigmoid' : loss === 'crossEntropy' ? 'identity' : null;
}

/** Row i of the result has a 1 in column labels[i]: the one-hot matrix Y [N, C]. */
export function oneHot(labels: Tensor, numClasses: number, dtype: 'float32' | 'float64' = 'float32', op = 'oneHot'): Tensor {
  if (labels.ndim !== 1 || labels.dtype !== 'int32') {
    throw new Error(`${op}: class labels must be a 1-D int32 tensor, got ${labels.dtype} ${fmt(labels.shape)}`);
  }
  const n = labels.shape[0]!;
  const y = new Tensor(dtype === 'float64' ? new Float64Array(n * numClasses) : new Float32Array(n * numClasses), [n, numClasses]);
  for (let i = 0; i < n; i++) {
    const c = labels.data[labels.offset + i * labels.strides[0]!]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new Error(`${op}: label ${c} at index ${i} is out of range for ${numClasses} classes`);
    y.data[i * numClasses + c] = 1;
  }
  return y;
}

/**
 * The target as a float matrix Y with the output's shape [N, C] and dtype, after checking it.
 * Class labels (int32 [N]) are turned into one-hot rows, for every loss when there are several
 * outputs (the classic MNIST network trains BCE on one-hot targets).
 */
export function targetMatrix(loss: Loss, output: Tensor, target: Tensor, op: string): Tensor {
  if (!(target instanceof Tensor)) throw new TypeError(`${op}: target must be a Tensor`);
  const [n, c] = output.shape as [number, number];
  const dtype = output.dtype as 'float32' | 'float64';
  if (target.dtype === 'int32' && target.ndim === 1 && (loss === 'crossEntropy' || c > 1)) {
    if (target.ndim !== 1 || target.shape[0] !== n) {
      throw new Error(`${op}: class labels ${fmt(target.shape)} do not match output ${fmt(output.shape)} (expected [${n}])`);
    }
    return oneHot(target, c, dtype, op);
  }
  if (target.ndim !== 2 || target.shape[0] !== n || target.shape[1] !== c) {
    const hint = target.ndim === 1 && target.shape[0] === n && c === 1 ? '; use target.unsqueeze(1)' : '';
    throw new Error(`${op}: target ${fmt(target.shape)} does not match output ${fmt(output.shape)} for loss '${loss}'${hint}`);
  }
  if (target.dtype === 'bool' || (loss === 'crossEntropy' && !isFloat(target.dtype))) {
    throw new Error(`${op}: target dtype ${target.dtype} is not supported for loss '${loss}' (use float targets${loss === 'crossEntropy' ? ' or int32 labels' : ''})`);
  }
  const y = target.dtype === dtype ? target : to(target, dtype);
  if (loss === 'bce' || loss === 'crossEntropy') checkProbabilities(loss, contiguous(y), op);
  return y;
}

/** bce targets lie in [0, 1]; crossEntropy target rows are probability distributions (δᴸ = p − y needs Σ_c y = 1). */
function checkProbabilities(loss: Loss, y: Tensor, op: string): void {
  const [n, c] = y.shape as [number, number], d = y.data, o = y.offset;
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    for (let j = 0; j < c; j++) {
      const v = d[o + i * c + j]!;
      if (!(v >= 0 && v <= 1)) throw new Error(`${op}: loss '${loss}' needs targets in [0, 1], found ${v} at [${i}, ${j}]`);
      rowSum += v;
    }
    if (loss === 'crossEntropy' && Math.abs(rowSum - 1) > 1e-4) {
      throw new Error(`${op}: crossEntropy target row ${i} sums to ${rowSum}, expected 1 (pass int32 class labels or probability rows)`);
    }
  }
}

/** The loss L as a number, from the network output aᴸ (logits for crossEntropy) and target matrix Y. */
export function lossValue(loss: Loss, output: Tensor, y: Tensor): number {
  switch (loss) {
    case 'mse': {
      const e = sub(output, y);
      return mean(mul(e, e)).item(); // (1/NC) Σ (a − y)²
    }
    case 'bce': {
      // (1/NC) Σ −[y ln a + (1−y) ln(1−a)], logs clamped at −100 as nn.BCELoss does
      const lnA = clamp(log(output), -100), ln1A = clamp(log(sub(1, output)), -100);
      return -mean(add(mul(y, lnA), mul(sub(1, y), ln1A))).item();
    }
    case 'crossEntropy': {
      const n = output.shape[0]!;
      return -sum(mul(y, logSoftmax(output, 1))).item() / n; // (1/N) Σₙ −Σ_c y ln softmax(z)
    }
  }
}

/**
 * δᴸ = ∂ℓₙ/∂zᴸ for every sample (rows), written out per loss:
 *   mse:          δᴸ = 2(aᴸ − y)/C ⊙ f′(zᴸ)
 *   bce+sigmoid:  δᴸ = (aᴸ − y)/C        (∂ℓ/∂a = (a − y)/(a(1 − a)C) and σ′ = a(1 − a) cancel)
 *   crossEntropy: δᴸ = softmax(zᴸ) − y   (rows of y sum to 1)
 */
export function outputDelta(loss: Loss, f: Activation, z: Tensor, a: Tensor, y: Tensor): Tensor {
  const c = a.shape[1]!;
  switch (loss) {
    case 'mse': return mul(mul(sub(a, y), 2 / c), derivative(f, z, a));
    case 'bce': return div(sub(a, y), c);
    case 'crossEntropy': return sub(softmax(z, 1), y);
  }
}
