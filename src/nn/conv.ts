/** nn.Conv2d: a 2-D convolution layer with PyTorch's weight layout, state-dict keys and initialisation. */
import { noGrad } from '../autograd/grad-mode.js';
import { type Conv2dOptions as ConvOpOptions, type Pair, conv2d } from '../ops/conv.js';
import { empty } from '../ops/util.js';
import type { DType } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { fmt } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface Conv2dOptions extends ConvOpOptions {
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the global one). */
  generator?: Generator;
  /** Default float32. */
  dtype?: DType;
}

const asPair = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]);
const tuple = (p: readonly number[]): string => `(${p.join(', ')})`;

/**
 * 2-D convolution over [N, inChannels, H, W] (torch.nn.Conv2d). `weight` is
 * [outChannels, inChannels/groups, kH, kW] and `bias` [outChannels], both drawn as PyTorch does:
 * U(−1/√fanIn, 1/√fanIn) with fanIn = inChannels/groups·kH·kW (kaiming_uniform with a = √5).
 *
 * @example
 * const conv = new nn.Conv2d(1, 32, 3, { padding: 1 });
 * const y = conv.call(images); // [N, 32, 28, 28] from [N, 1, 28, 28]
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super();
    for (const [n, v] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Conv2d: ${n} must be a positive integer, got ${v}`);
    }
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1) throw new Error(`Conv2d: groups must be a positive integer, got ${groups}`);
    if (inChannels % groups || outChannels % groups) {
      throw new Error(`Conv2d: inChannels ${inChannels} and outChannels ${outChannels} must both be divisible by groups ${groups}`);
    }
    const k = asPair(kernelSize);
    if (!k.every((d) => Number.isInteger(d) && d >= 1)) throw new Error(`Conv2d: kernelSize must be a positive integer or a pair of them, got ${JSON.stringify(kernelSize)}`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = k;
    this.stride = asPair(opts.stride ?? 1);
    const p = opts.padding ?? 0;
    this.padding = p === 'same' || p === 'valid' ? p : asPair(p);
    this.dilation = asPair(opts.dilation ?? 1);
    this.groups = groups;
    if (this.padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new Error(`Conv2d: padding 'same' needs stride 1, got stride ${tuple(this.stride)}`);
    }
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(empty([outChannels, inChannels / groups, k[0], k[1]], dtype));
    this.bias = opts.bias === false ? null : new Parameter(empty([outChannels], dtype));
    this.resetParameters(opts.generator);
  }

  /** Draw fresh initial values (weight first, then bias, as PyTorch). */
  resetParameters(generator?: Generator): void {
    noGrad(() => {
      kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
      if (this.bias) {
        const bound = 1 / Math.sqrt(calculateFanInAndFanOut(this.weight).fanIn);
        uniform_(this.bias, -bound, bound, { generator });
      }
    });
  }

  override forward(input: Tensor): Tensor {
    const want = this.inChannels;
    if (input.ndim !== 4 && input.ndim !== 3) throw new Error(`Conv2d: expected input [N, ${want}, H, W] (or unbatched [${want}, H, W]), got ${fmt(input.shape)}`);
    const C = input.shape[input.ndim - 3];
    if (C !== want) throw new Error(`Conv2d(${want}, ${this.outChannels}): expected input [N, ${want}, H, W] with ${want} channels, got ${fmt(input.shape)} with ${C}`);
    return conv2d(input, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${tuple(this.kernelSize)}, stride=${tuple(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding[0] || this.padding[1]) s += `, padding=${tuple(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${tuple(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    return s;
  }
}
