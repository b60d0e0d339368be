/** nn.Parameter: a leaf tensor that a Module registers as one of its weights. */
import { format } from '../ops/format.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * A tensor that is a module's learnable weight (torch.nn.Parameter).
 * It shares the given tensor's storage (no copy) and is a fresh leaf with `requiresGrad` true,
 * so assigning it as a field of a {@link Module} registers it in `parameters()` and `stateDict()`.
 *
 * @example
 * this.scale = new nn.Parameter(ones([10]));
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw new TypeError(`Parameter: expected a Tensor, got ${data === null ? 'null' : typeof data}`);
    super(data.data, data.shape, data.strides, data.offset);
    if (requiresGrad) this.requiresGrad_(true);
  }

  override toString(): string {
    return `Parameter containing:\n${format(this)}`;
  }
}
