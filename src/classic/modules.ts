/**
 * The bridge between the classic engine and nn: a Network from an nn.Sequential of Linear layers and
 * activations, and back. Weights keep PyTorch's layout, so nothing is transposed on the way.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { clone, copy_, detach, to } from '../ops/shape.js';
import { ReLU, Sigmoid, Tanh } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Flatten } from '../nn/flatten.js';
import { Identity, Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { fmt } from '../tensor/shape.js';
import type { Activation } from './activations.js';
import type { Loss } from './losses.js';
import { type Layer, Network } from './network.js';

const MODULE_ACTIVATIONS: [new () => Module, Activation][] = [[Sigmoid, 'sigmoid'], [Tanh, 'tanh'], [ReLU, 'relu']];

/** The Linear layers of a Sequential-like module, each with the activation module that follows it. */
function readStructure(model: Module, op: string): { linear: Linear; activation: Activation }[] {
  if (!(model instanceof Module)) throw new TypeError(`${op}: expected an nn.Module (an nn.Sequential of Linear layers and activations)`);
  const out: { linear: Linear; activation: Activation }[] = [];
  let expectActivation = false;
  for (const [name, m] of model.namedChildren()) {
    if (m instanceof Flatten && out.length === 0) continue; // inputs are passed flattened, [N, in]
    if (m instanceof Identity) continue;
    if (m instanceof Linear) {
      if (!m.bias) throw new Error(`${op}: Linear '${name}' has no bias; the classic engine's layers all have one`);
      out.push({ linear: m, activation: 'identity' });
      expectActivation = true;
      continue;
    }
    const act = MODULE_ACTIVATIONS.find(([cls]) => m instanceof cls)?.[1];
    if (act && expectActivation) {
      out[out.length - 1]!.activation = act;
      expectActivation = false;
      continue;
    }
    const why = act ? 'an activation must follow a Linear layer' : 'supported: Linear, Sigmoid, Tanh, ReLU, Identity and a leading Flatten';
    throw new Error(`${op}: module '${name}' (${m.constructor.name}) cannot be read (${why})`);
  }
  if (!out.length) throw new Error(`${op}: the module has no Linear layer`);
  return out;
}

/**
 * A classic Network with the structure of `model` (nn.Sequential of Linear + Sigmoid/Tanh/ReLU, an
 * optional leading Flatten) and a copy of its weights, trained on `loss`.
 */
export function fromModule(model: Module, opts: { loss?: Loss; dtype?: 'float32' | 'float64' } = {}): Network {
  const op = 'classic.fromModule';
  const layers = readStructure(model, op).map(({ linear, activation }): Layer => {
    const w = detach(linear.weight), b = detach(linear.bias!);
    const dtype = opts.dtype ?? w.dtype;
    return { weight: clone(to(w, dtype)), bias: clone(to(b, dtype)), activation };
  });
  return Network.fromLayers(layers, opts.loss ?? 'mse');
}

/**
 * An nn.Sequential (Linear, activation, Linear, ...) holding copies of the network's weights;
 * its stateDict() keys and values equal net.stateDict()'s.
 */
export function toModule(net: Network): Sequential {
  const modules: Module[] = [];
  for (const layer of net.layers) {
    const [out, inp] = layer.weight.shape as [number, number];
    const linear = new Linear(inp, out, { dtype: net.dtype });
    modules.push(linear);
    const cls = MODULE_ACTIVATIONS.find(([, a]) => a === layer.activation)?.[0];
    if (cls) modules.push(new cls());
  }
  const model = new Sequential(...modules);
  model.loadStateDict(net.stateDict());
  return model;
}

/** Write the network's weights into the Linear layers of `model` (same structure as fromModule reads), in place. */
export function copyToModule(net: Network, model: Module): void {
  const op = 'classic.copyToModule';
  const target = readStructure(model, op);
  if (target.length !== net.layers.length) throw new Error(`${op}: the module has ${target.length} Linear layers, the network ${net.layers.length}`);
  target.forEach(({ linear, activation }, l) => {
    const layer = net.layers[l]!;
    if (activation !== layer.activation) throw new Error(`${op}: layer ${l} is followed by ${activation} in the module, ${layer.activation} in the network`);
    if (linear.weight.shape[0] !== layer.weight.shape[0] || linear.weight.shape[1] !== layer.weight.shape[1]) {
      throw new Error(`${op}: layer ${l} weight is ${fmt(linear.weight.shape)} in the module, ${fmt(layer.weight.shape)} in the network`);
    }
  });
  noGrad(() => target.forEach(({ linear }, l) => {
    copy_(linear.weight, net.layers[l]!.weight);
    copy_(linear.bias!, net.layers[l]!.bias);
  }));
}
