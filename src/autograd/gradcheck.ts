/**
 * gradcheck: compare autograd's gradients with float64 central differences.
 * Small outputs are checked row by row of the full Jacobian; large ones through random projections.
 */
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { fmt } from '../tensor/shape.js';
import { engineOps, grad } from './engine.js';
import { noGrad } from './grad-mode.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Outputs with more elements than this are checked through random projections. */
  maxFullRows?: number;
  projections?: number;
}

type Fn = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

const outputsOf = (r: Tensor | readonly Tensor[]): Tensor[] => (r instanceof Tensor ? [r] : [...r]).filter((t) => t.isFloatingPoint);

function values(t: Tensor): Float64Array {
  const c = engineOps().contiguous(t);
  return Float64Array.from(c.data.subarray(c.offset, c.offset + c.size));
}

/** Returns true, or throws an Error naming the input, element and worst mismatch. */
export function gradcheck(fn: Fn, inputs: readonly Tensor[], opts: GradcheckOptions = {}): true {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-3;
  inputs.forEach((x, i) => {
    if (x.dtype !== 'float64') throw new Error(`gradcheck: input ${i} must be float64 for finite differences, got ${x.dtype}`);
    if (!x.isContiguous()) throw new Error(`gradcheck: input ${i} must be contiguous`);
  });
  const diff = inputs.filter((x) => x.requiresGrad);
  if (!diff.length) throw new Error('gradcheck: no input requires grad');
  const outs = outputsOf(fn(...inputs));
  const gen = new Generator(1234);
  outs.forEach((out, oi) => {
    const full = out.size <= (opts.maxFullRows ?? 64);
    const rows = full ? out.size : opts.projections ?? 3;
    for (let r = 0; r < rows; r++) {
      const v = new Float64Array(out.size);
      if (full) v[r] = 1;
      else for (let k = 0; k < v.length; k++) v[k] = gen.normal();
      const seed = new Tensor(v, out.shape);
      // analytic vᵀJ
      const analytic = grad([out], diff, { gradOutputs: [seed], retainGraph: true, allowUnused: true });
      diff.forEach((x, xi) => {
        const a = analytic[xi] ? values(analytic[xi]!) : new Float64Array(x.size);
        for (let k = 0; k < x.size; k++) {
          const numeric = centralDifference(fn, inputs, x, k, eps, oi, v);
          const err = Math.abs(a[k]! - numeric);
          if (err > atol + rtol * Math.abs(numeric)) {
            const where = full ? `output ${oi} element ${r}` : `output ${oi} projection ${r}`;
            throw new Error(`gradcheck: Jacobian mismatch for input ${inputs.indexOf(x)} (shape ${fmt(x.shape)}) element ${k}, ${where}: ` +
              `analytical ${a[k]}, numerical ${numeric} (|diff| ${err.toExponential(3)} > atol ${atol} + rtol ${rtol}·|numerical|)`);
          }
        }
      });
    }
  });
  return true;
}

/** vᵀ (f(x + eps·e_k) − f(x − eps·e_k)) / 2eps for output oi. */
function centralDifference(fn: Fn, inputs: readonly Tensor[], x: Tensor, k: number, eps: number, oi: number, v: Float64Array): number {
  const p = x.offset + k, orig = x.data[p]!;
  const project = (): number => {
    const y = values(outputsOf(noGrad(() => fn(...inputs)))[oi]!);
    let s = 0;
    for (let j = 0; j < y.length; j++) if (v[j]) s += v[j]! * y[j]!;
    return s;
  };
  x.data[p] = orig + eps;
  const plus = project();
  x.data[p] = orig - eps;
  const minus = project();
  x.data[p] = orig;
  return (plus - minus) / (2 * eps);
}
