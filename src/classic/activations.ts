/**
 * The activations of the classic engine, each with its derivative written out:
 * a = f(z) going forward, f′(z) coming back. No autograd is involved.
 */
import { gt, mul, relu, sigmoid, sub, tanh } from '../ops/elementwise.js';
import { to } from '../ops/shape.js';
import { onesLike } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';

export type Activation = 'sigmoid' | 'tanh' | 'relu' | 'identity';
export const ACTIVATIONS: readonly Activation[] = ['sigmoid', 'tanh', 'relu', 'identity'];

export function isActivation(x: unknown): x is Activation {
  return typeof x === 'string' && (ACTIVATIONS as readonly string[]).includes(x);
}

/** a = f(z). */
export function activate(f: Activation, z: Tensor): Tensor {
  switch (f) {
    case 'sigmoid': return sigmoid(z); // σ(z) = 1 / (1 + e^−z)
    case 'tanh': return tanh(z);
    case 'relu': return relu(z); // max(0, z)
    case 'identity': return z;
  }
}

/**
 * f′(z), elementwise. `a` is f(z), already computed by the forward pass: sigmoid and tanh
 * have derivatives that are cheapest to write in terms of their own output.
 */
export function derivative(f: Activation, z: Tensor, a: Tensor): Tensor {
  switch (f) {
    case 'sigmoid': return mul(a, sub(1, a)); // σ′(z) = σ(z)(1 − σ(z)) ≤ 1/4
    case 'tanh': return sub(1, mul(a, a)); // tanh′(z) = 1 − tanh²(z) ≤ 1
    case 'relu': return to(gt(z, 0), z.dtype); // relu′(z) = [z > 0] (0 at z = 0, as PyTorch)
    case 'identity': return onesLike(z); // d z/dz = 1
  }
}
