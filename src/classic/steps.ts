/**
 * Backpropagation in four explicit steps, as it is taught:
 *   forward        zˡ = aˡ⁻¹Wˡᵀ + bˡ, aˡ = f(zˡ)                      (every layer, input to output)
 *   calculateLoss  L from the output aᴸ and the target y
 *   backpropagate  δᴸ from the loss; δˡ = (δˡ⁺¹Wˡ⁺¹) ⊙ f′(zˡ); ∇Wˡ = δˡᵀaˡ⁻¹ / N; ∇bˡ = mean of δˡ
 *   updateWeights  Wˡ ← Wˡ − η∇Wˡ, bˡ ← bˡ − η∇bˡ                      (plain SGD)
 * Only matrix ops; no graph is recorded (every step runs under noGrad).
 *
 * Indexing: code is 0-based and everything about layer l sits at index l. `inputs[l]` is the
 * layer's input (aˡ⁻¹ in the 1-based formulas), `z[l]` and `a[l]` its pre-activation and output,
 * `deltas[l]` its error, `net.layers[l].weight` its W.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { add, div, mul, sub } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { mean } from '../ops/reduce.js';
import { copy_, to, transpose } from '../ops/shape.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { activate, derivative } from './activations.js';
import { lossValue, outputDelta, targetMatrix } from './losses.js';
import { type Network, checkLossPairing } from './network.js';

/** What the forward pass keeps for the backward pass: every layer's input, zˡ and aˡ. */
export interface ForwardPass {
  /** inputs[l]: the input of layer l, [N, nˡ⁻¹]; inputs[0] is x, inputs[l] = a[l − 1]. */
  inputs: Tensor[];
  /** z[l] = inputs[l] · W[l]ᵀ + b[l], [N, nˡ]. */
  z: Tensor[];
  /** a[l] = f(z[l]), [N, nˡ]. */
  a: Tensor[];
  /** The network output a[L − 1] (logits when the loss is crossEntropy). */
  output: Tensor;
}

/** The result of backpropagate: one entry per layer, index l for layer l. */
export interface Gradients {
  /** δ[l] = ∂ℓₙ/∂z[l], one row per sample, [N, nˡ]. */
  deltas: Tensor[];
  /** ∇W[l] = δ[l]ᵀ · inputs[l] / N, [nˡ, nˡ⁻¹] like W. */
  weight: Tensor[];
  /** ∇b[l] = mean over the batch of δ[l], [nˡ] like b. */
  bias: Tensor[];
}

/** Step 1: run the input through every layer, keeping zˡ and aˡ. x is [N, n⁰]. */
export function forward(net: Network, x: Tensor): ForwardPass {
  return noGrad(() => {
    const op = 'classic.forward';
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: input must be a Tensor`);
    const w0 = net.layers[0]!.weight;
    if (x.ndim !== 2 || x.shape[1] !== w0.shape[1]) {
      const hint = x.ndim > 2 ? `; flatten it first: x.reshape(${x.shape[0]}, -1)` : '';
      throw new Error(`${op}: input ${fmt(x.shape)} does not match layer 0 weight ${fmt(w0.shape)} (expected [N, ${w0.shape[1]}])${hint}`);
    }
    const inputs: Tensor[] = [], zs: Tensor[] = [], as: Tensor[] = [];
    let prev = x.dtype === net.dtype ? x : to(x, net.dtype);
    for (const layer of net.layers) {
      const z = add(matmul(prev, transpose(layer.weight, 0, 1)), layer.bias); // zˡ = aˡ⁻¹Wˡᵀ + bˡ: [N, nˡ⁻¹]·[nˡ⁻¹, nˡ] + [nˡ]
      const a = activate(layer.activation, z); // aˡ = f(zˡ)
      inputs.push(prev); zs.push(z); as.push(a);
      prev = a;
    }
    return { inputs, z: zs, a: as, output: prev };
  });
}

/** Step 2: the loss of the forward pass's output against the target (see losses.ts for conventions). */
export function calculateLoss(net: Network, pass: ForwardPass, target: Tensor): number {
  return noGrad(() => lossValue(net.loss, pass.output, targetMatrix(net.loss, pass.output, target, 'classic.calculateLoss')));
}

/** Step 3: δ from the output layer back to the first, and every layer's ∇W and ∇b. */
export function backpropagate(net: Network, pass: ForwardPass, target: Tensor): Gradients {
  return noGrad(() => {
    checkLossPairing(net, 'classic.backpropagate');
    const L = net.layers.length, N = pass.output.shape[0]!;
    const y = targetMatrix(net.loss, pass.output, target, 'classic.backpropagate');
    const deltas = new Array<Tensor>(L), weight = new Array<Tensor>(L), bias = new Array<Tensor>(L);
    // δᴸ = ∂ℓ/∂zᴸ from the loss: [N, nᴸ]
    deltas[L - 1] = outputDelta(net.loss, net.layers[L - 1]!.activation, pass.z[L - 1]!, pass.a[L - 1]!, y);
    for (let l = L - 2; l >= 0; l--) {
      // δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ f′(zˡ): [N, nˡ⁺¹]·[nˡ⁺¹, nˡ] ⊙ [N, nˡ]; the derivative, not the activation
      const fPrime = derivative(net.layers[l]!.activation, pass.z[l]!, pass.a[l]!);
      deltas[l] = mul(matmul(deltas[l + 1]!, net.layers[l + 1]!.weight), fPrime);
    }
    for (let l = 0; l < L; l++) {
      weight[l] = div(matmul(transpose(deltas[l]!, 0, 1), pass.inputs[l]!), N); // ∇Wˡ = δˡᵀaˡ⁻¹ / N: [nˡ, N]·[N, nˡ⁻¹]
      bias[l] = mean(deltas[l]!, 0); // ∇bˡ = (1/N) Σₙ δˡₙ: [nˡ]
    }
    return { deltas, weight, bias };
  });
}

/** Step 4: one step of plain gradient descent, in place: W ← W − η∇W, b ← b − η∇b. */
export function updateWeights(net: Network, grads: Gradients, lr: number): void {
  if (!(typeof lr === 'number' && Number.isFinite(lr) && lr >= 0)) throw new Error(`classic.updateWeights: lr must be a finite number ≥ 0, got ${lr}`);
  noGrad(() => {
    net.layers.forEach((layer, l) => {
      copy_(layer.weight, sub(layer.weight, mul(grads.weight[l]!, lr)));
      copy_(layer.bias, sub(layer.bias, mul(grads.bias[l]!, lr)));
    });
  });
}
