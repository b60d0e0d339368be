/** softmax and logSoftmax, composed from logsumexp: stable at logits of ±1000, gradients for free. */
import { normDim } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { exp, sub } from './elementwise.js';
import { logsumexp } from './reduce.js';

/** log softmax(x) = x − logsumexp(x) along dim. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  const d = normDim(dim, x.ndim, 'logSoftmax');
  return sub(x, logsumexp(x, d, true));
}

/** softmax(x) = exp(x − logsumexp(x)) along dim. */
export function softmax(x: Tensor, dim = -1): Tensor {
  const d = normDim(dim, x.ndim, 'softmax');
  return exp(logSoftmax(x, d));
}
