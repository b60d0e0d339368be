/** Pooling layers over NCHW images: nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d. */
import { type Pair } from '../ops/conv.js';
import { type AvgPool2dOptions, type MaxPool2dOptions, adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../ops/pool.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

const py = (p: Pair): string => (typeof p === 'number' ? String(p) : `(${p.join(', ')})`);
const pyBool = (b: boolean): string => (b ? 'True' : 'False');

/**
 * Max over kH×kW windows (torch.nn.MaxPool2d); stride defaults to the kernel size.
 *
 * @example
 * const pool = new nn.MaxPool2d(2); // [N, C, 28, 28] → [N, C, 14, 14]
 */
export class MaxPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;
  constructor(kernelSize: Pair, opts: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.ceilMode = opts.ceilMode ?? false;
  }
  override forward(input: Tensor): Tensor {
    return maxPool2d(input, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode });
  }
  override extraRepr(): string {
    return `kernel_size=${py(this.kernelSize)}, stride=${py(this.stride)}, padding=${py(this.padding)}, dilation=${py(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/** Mean over kH×kW windows (torch.nn.AvgPool2d); padded zeros count in the divisor unless countIncludePad is false. */
export class AvgPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | undefined;
  constructor(kernelSize: Pair, opts: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride;
  }
  override forward(input: Tensor): Tensor {
    return avgPool2d(input, this.kernelSize, {
      stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride,
    });
  }
  override extraRepr(): string {
    return `kernel_size=${py(this.kernelSize)}, stride=${py(this.stride)}, padding=${py(this.padding)}`;
  }
}

/** Mean pooling to a fixed output size whatever the input size (torch.nn.AdaptiveAvgPool2d); null keeps an input dim. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number | readonly [number | null, number | null];
  constructor(outputSize: number | readonly [number | null, number | null]) {
    super();
    this.outputSize = outputSize;
  }
  override forward(input: Tensor): Tensor {
    return adaptiveAvgPool2d(input, this.outputSize);
  }
  override extraRepr(): string {
    const o = this.outputSize;
    return `output_size=${typeof o === 'number' ? o : `(${o.map((d) => (d === null ? 'None' : d)).join(', ')})`}`;
  }
}
