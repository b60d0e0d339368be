/**
 * The network the classic engine trains: a stack of fully connected layers, each holding
 * W [out, in], b [out] and its activation f. Layouts and state-dict keys are PyTorch's, so the
 * weights load into nn.Sequential(nn.Linear, nn.Sigmoid, nn.Linear, ...) and back.
 */
import { clone, detach, to } from '../ops/shape.js';
import { Linear } from '../nn/linear.js';
import type { Generator } from '../tensor/random.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type Activation, ACTIVATIONS, isActivation } from './activations.js';
import { type Loss, LOSSES, isLoss, requiredOutputActivation } from './losses.js';

export interface Layer {
  /** Wˡ, shape [nˡ, nˡ⁻¹] (out, in), as nn.Linear.weight. */
  weight: Tensor;
  /** bˡ, shape [nˡ], as nn.Linear.bias. */
  bias: Tensor;
  /** f in aˡ = f(zˡ). */
  activation: Activation;
}

export interface NetworkOptions {
  /** Activation of every hidden layer (default 'sigmoid'). */
  hidden?: Activation;
  /** Activation of the output layer (default: 'sigmoid' for bce, 'identity' for mse and crossEntropy). */
  output?: Activation;
  /** One activation per layer, overriding `hidden` and `output`. */
  activations?: readonly Activation[];
  /** The loss the network is trained on (default 'mse'). */
  loss?: Loss;
  dtype?: 'float32' | 'float64';
  /** Source of the initial weights (default: the global generator, see manualSeed). */
  generator?: Generator;
}

export type StateDict = Record<string, Tensor>;

export class Network {
  readonly layers: Layer[];
  readonly loss: Loss;
  readonly dtype: 'float32' | 'float64';

  /**
   * A network with `sizes[0]` inputs and layers of sizes[1], ..., sizes[L] units, initialised by
   * nn.Linear itself (W and b uniform in ±1/√(fan in)), drawing from the same generator in the same
   * order: after manualSeed(s) it starts from the weights of the equivalent nn.Sequential.
   */
  constructor(sizes: readonly number[], opts: NetworkOptions = {}) {
    const op = 'classic.Network';
    if (!Array.isArray(sizes) || sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s > 0)) {
      throw new Error(`${op}: sizes must list at least 2 positive integers (inputs, ..., outputs), got ${JSON.stringify(sizes)}`);
    }
    const loss = opts.loss ?? 'mse';
    if (!isLoss(loss)) throw new Error(`${op}: unknown loss '${String(loss)}' (expected ${LOSSES.join(', ')})`);
    const dtype = opts.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${op}: dtype must be float32 or float64, got ${String(dtype)}`);
    const L = sizes.length - 1;
    const acts = opts.activations
      ? [...opts.activations]
      : Array.from({ length: L }, (_, l) => (l < L - 1 ? opts.hidden ?? 'sigmoid' : opts.output ?? (loss === 'bce' ? 'sigmoid' : 'identity')));
    if (acts.length !== L) throw new Error(`${op}: ${L} layers need ${L} activations, got ${acts.length}`);
    const layers = acts.map((f, l): Layer => {
      if (!isActivation(f)) throw new Error(`${op}: unknown activation '${String(f)}' for layer ${l} (expected ${ACTIVATIONS.join(', ')})`);
      // nn.Linear draws the initial values, so the same seed gives the same weights as an nn.Sequential
      const linear = new Linear(sizes[l]!, sizes[l + 1]!, { dtype, generator: opts.generator });
      return { weight: detach(linear.weight), bias: detach(linear.bias!), activation: f };
    });
    this.layers = layers;
    this.loss = loss;
    this.dtype = dtype;
    checkLossPairing(this, op);
  }

  /**
   * A network from existing layers (their tensors are used as they are, not copied): each weight
   * must be [out, in] with `in` equal to the previous layer's `out`, each bias [out].
   */
  static fromLayers(layers: readonly Layer[], loss: Loss = 'mse'): Network {
    const op = 'classic.Network.fromLayers';
    if (!layers.length) throw new Error(`${op}: a network needs at least one layer`);
    if (!isLoss(loss)) throw new Error(`${op}: unknown loss '${String(loss)}' (expected ${LOSSES.join(', ')})`);
    const dtype = layers[0]!.weight.dtype;
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${op}: weights must be float32 or float64, got ${dtype}`);
    layers.forEach((l, i) => {
      if (!isActivation(l.activation)) throw new Error(`${op}: unknown activation '${String(l.activation)}' for layer ${i} (expected ${ACTIVATIONS.join(', ')})`);
      const w = l.weight, b = l.bias, prevOut = i > 0 ? layers[i - 1]!.weight.shape[0] : undefined;
      if (w.ndim !== 2 || (prevOut !== undefined && w.shape[1] !== prevOut)) {
        throw new Error(`${op}: layer ${i} weight ${fmt(w.shape)} does not follow layer ${i - 1} weight ${fmt(layers[i - 1]?.weight.shape ?? [])} (expected [out, ${prevOut ?? 'in'}])`);
      }
      if (b.ndim !== 1 || b.shape[0] !== w.shape[0]) throw new Error(`${op}: layer ${i} bias ${fmt(b.shape)} does not match weight ${fmt(w.shape)} (expected [${w.shape[0]}])`);
      if (w.dtype !== dtype || b.dtype !== dtype) throw new Error(`${op}: layer ${i} has dtype ${w.dtype}/${b.dtype}, layer 0 has ${dtype}; use one dtype`);
    });
    const net = Object.create(Network.prototype) as { -readonly [K in keyof Network]: Network[K] };
    net.layers = layers.map((l) => ({ weight: l.weight, bias: l.bias, activation: l.activation }));
    net.loss = loss;
    net.dtype = dtype;
    checkLossPairing(net as Network, op);
    return net as Network;
  }

  /** [n⁰, n¹, ..., nᴸ]: inputs, then the units of each layer. */
  get sizes(): number[] {
    return [this.layers[0]!.weight.shape[1]!, ...this.layers.map((l) => l.weight.shape[0]!)];
  }

  /** Number of layers L (hidden plus output). */
  get depth(): number {
    return this.layers.length;
  }

  /**
   * The weights under nn.Sequential's keys: each Linear takes the next index and each activation
   * other than identity takes one after it, so [784, 100, 10] with sigmoid gives
   * `0.weight, 0.bias, 2.weight, 2.bias` (the Sigmoid modules are 1 and 3).
   */
  stateDict(): StateDict {
    const sd: StateDict = {};
    sequentialIndices(this.layers).forEach((k, l) => {
      sd[`${k}.weight`] = this.layers[l]!.weight;
      sd[`${k}.bias`] = this.layers[l]!.bias;
    });
    return sd;
  }

  /** Copy weights from a state dict with nn.Sequential's keys (see stateDict); shapes must match. */
  loadStateDict(sd: StateDict | Map<string, Tensor>): void {
    const op = 'classic.Network.loadStateDict';
    const get = (k: string): Tensor | undefined => (sd instanceof Map ? sd.get(k) : sd[k]);
    const keys = sd instanceof Map ? [...sd.keys()] : Object.keys(sd);
    const expected = Object.keys(this.stateDict());
    const missing = expected.filter((k) => get(k) === undefined), unexpected = keys.filter((k) => !expected.includes(k));
    if (missing.length || unexpected.length) {
      throw new Error(`${op}: missing keys [${missing.join(', ')}], unexpected keys [${unexpected.join(', ')}] (expected ${expected.join(', ')})`);
    }
    sequentialIndices(this.layers).forEach((k, l) => {
      const layer = this.layers[l]!;
      for (const [name, cur] of [['weight', layer.weight], ['bias', layer.bias]] as const) {
        const src = get(`${k}.${name}`)!;
        if (!(src instanceof Tensor)) throw new TypeError(`${op}: '${k}.${name}' is not a Tensor`);
        if (src.shape.length !== cur.shape.length || src.shape.some((d, i) => d !== cur.shape[i])) {
          throw new Error(`${op}: '${k}.${name}' has shape ${fmt(src.shape)}, layer ${l} needs ${fmt(cur.shape)}`);
        }
        layer[name] = clone(to(detach(src), this.dtype));
      }
    });
  }

  /** An independent copy (same sizes, activations, loss and weight values). */
  clone(): Network {
    return Network.fromLayers(this.layers.map((l) => ({ weight: clone(l.weight), bias: clone(l.bias), activation: l.activation })), this.loss);
  }

  toString(): string {
    const parts = this.layers.map((l, i) => `  (${i}) ${l.weight.shape[1]} → ${l.weight.shape[0]}, ${l.activation}`);
    return `classic.Network(loss: ${this.loss}, ${this.dtype}\n${parts.join('\n')}\n)`;
  }
}

/** Index of each layer's Linear in the equivalent nn.Sequential. */
export function sequentialIndices(layers: readonly Layer[]): number[] {
  let k = 0;
  return layers.map((l) => {
    const idx = k;
    k += l.activation === 'identity' ? 1 : 2;
    return idx;
  });
}

/** bce is written for sigmoid outputs and crossEntropy for logits; δᴸ's closed forms rely on it. */
export function checkLossPairing(net: Network, op: string): void {
  const need = requiredOutputActivation(net.loss), out = net.layers[net.layers.length - 1]!.activation;
  if (need && out !== need) {
    const why = net.loss === 'bce' ? 'bce is computed on sigmoid outputs' : 'crossEntropy applies softmax itself, so the last layer outputs logits';
    throw new Error(`${op}: loss '${net.loss}' needs output activation '${need}', got '${out}' (${why})`);
  }
}
