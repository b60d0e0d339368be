/**
 * nn.init: fill a tensor in place (under noGrad) with values from a seeded distribution, as
 * torch.nn.init. Every function takes an optional `{ generator }` (default: the global one, reseeded
 * by `manualSeed`), draws elements in row-major order, and returns the tensor it filled.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { add, mul } from '../ops/elementwise.js';
import { copy_, fill_ } from '../ops/shape.js';
import { rand, randn } from '../tensor/create.js';
import { isFloat } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

export interface InitOptions {
  generator?: Generator;
}

/** Nonlinearities known to {@link calculateGain} (PyTorch's names; camelCase forms are accepted too). */
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'leakyRelu' | 'selu';

/** 'fanIn' keeps the forward pass's variance, 'fanOut' the backward pass's (PyTorch's 'fan_in' / 'fan_out' also accepted). */
export type FanMode = 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';

function checkTarget(t: Tensor, op: string): void {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
  if (!isFloat(t.dtype)) throw new Error(`${op}: tensor must be floating point, got ${t.dtype}`);
}

/** Write `values` (same shape) into t's storage without recording a graph. */
const write = (t: Tensor, values: Tensor): Tensor => noGrad(() => copy_(t, values));

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear/conv/sigmoid,
 * 5/3 for tanh, √2 for relu, √(2/(1+slope²)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new Error(`calculateGain: negative slope ${String(param)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new Error(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/** fan_in = size(1)·receptive field, fan_out = size(0)·receptive field (PyTorch's rule). */
export function calculateFanInAndFanOut(t: Tensor, op = 'init'): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new Error(`${op}: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape ${fmt(t.shape)})`);
  const receptive = t.shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

/** Fill with U(a, b). */
export function uniform_(t: Tensor, a = 0, b = 1, opts: InitOptions = {}): Tensor {
  checkTarget(t, 'uniform_');
  if (!(a <= b)) throw new Error(`uniform_: expected a ≤ b, got a=${a}, b=${b}`);
  return write(t, add(mul(rand(t.shape, { dtype: t.dtype, generator: opts.generator }), b - a), a));
}

/** Fill with N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  checkTarget(t, 'normal_');
  if (!(std >= 0)) throw new Error(`normal_: std must be non-negative, got ${std}`);
  return write(t, add(mul(randn(t.shape, { dtype: t.dtype, generator: opts.generator }), std), mean));
}

/** Fill with a constant. */
export function constant_(t: Tensor, value: number): Tensor {
  checkTarget(t, 'constant_');
  return noGrad(() => fill_(t, value));
}

export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

/** Glorot uniform: U(−a, a) with a = gain·√(6/(fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  checkTarget(t, 'xavierUniform_');
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, 'xavierUniform_');
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, opts);
}

/** Glorot normal: N(0, std²) with std = gain·√(2/(fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  checkTarget(t, 'xavierNormal_');
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, 'xavierNormal_');
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the rectifier after this layer (used with 'leaky_relu'). Default 0. */
  a?: number;
  /** Default 'fanIn'. */
  mode?: FanMode;
  /** Default 'leaky_relu' (PyTorch's default). */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, opts: KaimingOptions, op: string): number {
  const mode = opts.mode ?? 'fanIn';
  if (!['fanIn', 'fanOut', 'fan_in', 'fan_out'].includes(mode)) throw new Error(`${op}: mode must be 'fanIn' or 'fanOut', got '${String(mode)}'`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, op);
  const fan = mode === 'fanIn' || mode === 'fan_in' ? fanIn : fanOut;
  if (fan === 0) throw new Error(`${op}: cannot initialise a tensor with zero elements (shape ${fmt(t.shape)})`);
  return calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan);
}

/** He uniform: U(−b, b) with b = gain·√(3/fan). PyTorch's Linear uses it with a = √5 (b = 1/√fan_in). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  checkTarget(t, 'kaimingUniform_');
  const bound = Math.sqrt(3) * kaimingStd(t, opts, 'kaimingUniform_');
  return uniform_(t, -bound, bound, opts);
}

/** He normal: N(0, std²) with std = gain/√fan. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  checkTarget(t, 'kaimingNormal_');
  return normal_(t, 0, kaimingStd(t, opts, 'kaimingNormal_'), opts);
}
