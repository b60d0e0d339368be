/** Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). */
import { noGrad } from '../autograd/grad-mode.js';
import { abs, add, clamp, div, mul, pow, sqrt } from '../ops/elementwise.js';
import { max, sum } from '../ops/reduce.js';
import { stack } from '../ops/shape.js';
import { tensor } from '../tensor/create.js';
import { Tensor } from '../tensor/tensor.js';

function gradsOf(params: Tensor | Iterable<Tensor>, op: string): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  list.forEach((p, i) => { if (!(p instanceof Tensor)) throw new TypeError(`${op}: parameter ${i} is not a Tensor`); });
  return list.filter((p) => p.grad !== null);
}

function norm(g: Tensor, p: number): Tensor {
  if (p === Infinity) return max(abs(g));
  if (p === 2) return sqrt(sum(mul(g, g)));
  if (p === 1) return sum(abs(g));
  return pow(sum(pow(abs(g), p)), 1 / p);
}

/**
 * Scale all gradients together so that their joint `normType`-norm is at most `maxNorm`
 * (g ·= min(1, maxNorm/(norm + 1e-6)), as PyTorch). Returns the total norm before clipping, as a
 * 0-d tensor. With `errorIfNonfinite`, a NaN or infinite norm throws instead of spreading NaNs.
 */
export function clipGradNorm(params: Tensor | Iterable<Tensor>, maxNorm: number, normType = 2, opts: { errorIfNonfinite?: boolean } = {}): Tensor {
  if (!(typeof normType === 'number' && normType > 0)) throw new Error(`clipGradNorm: normType must be a positive number or Infinity, got ${normType}`);
  if (!(typeof maxNorm === 'number' && maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be a non-negative number, got ${maxNorm}`);
  return noGrad(() => {
    const ps = gradsOf(params, 'clipGradNorm');
    if (!ps.length) return tensor(0);
    const norms = ps.map((p) => norm(p.grad!, normType));
    const total = norms.length === 1 ? norms[0]! : norm(stack(norms), normType);
    const t = total.item();
    if (opts.errorIfNonfinite && !Number.isFinite(t)) {
      throw new Error(`clipGradNorm: the total norm of order ${normType} of the gradients is ${t}, so they cannot be clipped (pass errorIfNonfinite: false to clip anyway)`);
    }
    const coef = clamp(div(maxNorm, add(total, 1e-6)), null, 1);
    // gradients are replaced, not scaled in place: the engine may share one gradient tensor between leaves
    for (const p of ps) p.grad = mul(p.grad!, coef);
    return total;
  });
}

/** Clamp every gradient element to [−clipValue, clipValue]. */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (!(typeof clipValue === 'number' && clipValue >= 0)) throw new Error(`clipGradValue: clipValue must be a non-negative number, got ${clipValue}`);
  noGrad(() => {
    for (const p of gradsOf(params, 'clipGradValue')) p.grad = clamp(p.grad!, -clipValue, clipValue);
  });
}
