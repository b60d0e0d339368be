/** softmax and logSoftmax along a dim: stable at logits of ±1000, each with a one-pass backward rule. */
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/node.js';
import { backend } from '../backend/backend.js';
import { normDim } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, exp, log, mul, sub } from './elementwise.js';
import { stableShift, sum } from './reduce.js';
import { uninitialized } from './util.js';

/** log softmax(x) = x − logsumexp(x) along dim, computed as z − log Σ exp(z) with z = x − max (exact in float32 too). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  const d = normDim(dim, x.ndim, 'logSoftmax');
  const fused = fusedLastDim(x, d, true);
  // ∂/∂x = g − exp(y)·Σ_d g
  if (fused) return record(fused, 'LogSoftmaxBackward', [x], (g) => [sub(g, mul(exp(fused), sum(g, d, true)))]);
  let e: Tensor, s: Tensor;
  const y = noGrad(() => {
    const z = sub(x, stableShift(x, [d]));
    e = exp(z);
    s = sum(e, d, true);
    return sub(z, log(s));
  });
  // ∂/∂x = g − softmax(x)·Σ_d g. softmax(x) = exp(y); without a graph to record, e/s from the forward is
  // the same value for a division instead of an exp
  return record(y, 'LogSoftmaxBackward', [x], (g) => {
    const p = isGradEnabled() ? exp(y) : div(e, s);
    return [sub(g, mul(p, sum(g, d, true)))];
  });
}

/** softmax(x) = exp(x − max) / Σ exp(x − max) along dim. */
export function softmax(x: Tensor, dim = -1): Tensor {
  const d = normDim(dim, x.ndim, 'softmax');
  const y = fusedLastDim(x, d, false) ?? noGrad(() => {
    const e = exp(sub(x, stableShift(x, [d])));
    return div(e, sum(e, d, true));
  });
  // ∂/∂x = y·(g − Σ_d g·y)
  return record(y, 'SoftmaxBackward', [x], (g) => [mul(y, sub(g, sum(mul(g, y), d, true)))]);
}

/** The backend's one-pass kernel over the last dim (backend.softmaxLastDim) when it has one and takes x, else null. */
function fusedLastDim(x: Tensor, d: number, log: boolean): Tensor | null {
  const b = backend();
  if (!b.softmaxLastDim || d !== x.ndim - 1 || x.size === 0) return null;
  const out = uninitialized(x.shape, x.dtype);
  return b.softmaxLastDim(x, log, out.data) ? out : null;
}
