/** Activations, linear and dropout as functions (torch.nn.functional), composed from ops. */
import { noGrad } from '../../autograd/grad-mode.js';
import { add, div, erf, gt, lt, mul, relu as reluOp, sigmoid as sigmoidOp, tanh as tanhOp, where } from '../../ops/elementwise.js';
import { addmmLinear, matmul } from '../../ops/matmul.js';
import { logSoftmax as logSoftmaxOp, softmax as softmaxOp } from '../../ops/softmax.js';
import { to, transpose } from '../../ops/shape.js';
import { rand } from '../../tensor/create.js';
import { isFloat } from '../../tensor/dtype.js';
import type { Generator } from '../../tensor/random.js';
import { fmt } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

function checkTensor(x: unknown, op: string, arg: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: argument '${arg}' must be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

/**
 * y = x Wᵀ + b, with `weight` [out, in] as PyTorch lays it out and x [..., in].
 * Throws `linear: input [32, 28, 28] does not match weight [100, 784]` when the last dims disagree.
 */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensor(input, 'linear', 'input');
  checkTensor(weight, 'linear', 'weight');
  if (weight.ndim !== 2) throw new Error(`linear: weight must be 2-D [out, in], got ${fmt(weight.shape)}`);
  if (input.ndim === 0 || input.shape[input.ndim - 1] !== weight.shape[1]) {
    throw new Error(`linear: input ${fmt(input.shape)} does not match weight ${fmt(weight.shape)} (the last dim of input must be ${weight.shape[1]})`);
  }
  if (bias != null) {
    checkTensor(bias, 'linear', 'bias');
    if (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0]) throw new Error(`linear: bias ${fmt(bias.shape)} does not match weight ${fmt(weight.shape)} (expected [${weight.shape[0]}])`);
  }
  const b = bias ?? null;
  if (input.ndim === 2 && isFloat(input.dtype) && weight.dtype === input.dtype && (!b || b.dtype === input.dtype)) {
    return addmmLinear(input, weight, b);
  }
  const y = matmul(input, transpose(weight, 0, 1));
  return b ? add(y, b) : y;
}

/** σ(x) = 1 / (1 + e^−x). */
export function sigmoid(x: Tensor): Tensor {
  checkTensor(x, 'sigmoid', 'input');
  return sigmoidOp(x);
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  checkTensor(x, 'relu', 'input');
  return reluOp(x);
}

export function tanh(x: Tensor): Tensor {
  checkTensor(x, 'tanh', 'input');
  return tanhOp(x);
}

/** x for x > 0, negativeSlope·x otherwise (default slope 0.01). */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  checkTensor(x, 'leakyRelu', 'input');
  return where(gt(x, 0), x, mul(x, negativeSlope));
}

/**
 * Gaussian error linear unit: x·Φ(x) (`approximate: 'none'`, the default), or the tanh
 * approximation 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
 */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  checkTensor(x, 'gelu', 'input');
  const approximate = opts.approximate ?? 'none';
  if (approximate === 'none') return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
  if (approximate === 'tanh') {
    const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(tanhOp(inner), 1));
  }
  throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
}

/** softmax along dim (stable for any finite logits). */
export function softmax(x: Tensor, dim = -1): Tensor {
  checkTensor(x, 'softmax', 'input');
  return softmaxOp(x, dim);
}

/** log softmax along dim (stable: x − logsumexp(x)). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  checkTensor(x, 'logSoftmax', 'input');
  return logSoftmaxOp(x, dim);
}

export interface DropoutOptions {
  /** Apply dropout (true) or return x unchanged (false). Default true. */
  training?: boolean;
  generator?: Generator;
}

/**
 * Inverted dropout: zero each element with probability p and scale the rest by 1/(1−p),
 * so evaluation needs no rescaling. The mask comes from `generator` (default: the global one).
 */
export function dropout(x: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  checkTensor(x, 'dropout', 'input');
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability p must be between 0 and 1, got ${p}`);
  if (opts.training === false || p === 0) return x;
  if (!isFloat(x.dtype)) throw new Error(`dropout: input must be floating point, got ${x.dtype}`);
  if (p === 1) return mul(x, 0);
  const keep = noGrad(() => div(to(lt(rand(x.shape, { dtype: x.dtype, generator: opts.generator }), 1 - p), x.dtype), 1 - p));
  return mul(x, keep); // ∂ = mask / (1 − p), from mul's rule
}
