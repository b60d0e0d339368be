/**
 * gradcheck: compare autograd's gradients with float64 central differences.
 * Small outputs are checked row by row of the full Jacobian; large ones through random projections.
 * Each input element is perturbed once (two evaluations), and that column is checked against every row.
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

/** One row of the check: vᵀJ for output `out`, with v a unit vector (`unit` ≥ 0) or a random projection. */
interface Probe { out: number; unit: number; v: Float64Array; label: string }

/**
 * Returns true, or throws an Error naming the input, element and row of the worst mismatch between the
 * analytical gradient and central differences: |analytical − numerical| ≤ atol + rtol·|numerical|.
 * Only inputs that require grad are perturbed; they must be contiguous float64 tensors.
 */
export function gradcheck(fn: Fn, inputs: readonly Tensor[], opts: GradcheckOptions = {}): true {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-3;
  const diff = inputs.filter((x) => x.requiresGrad);
  if (!diff.length) throw new Error('gradcheck: no input requires grad');
  inputs.forEach((x, i) => {
    if (!x.requiresGrad) return;
    if (x.dtype !== 'float64') throw new Error(`gradcheck: input ${i} must be float64 for finite differences, got ${x.dtype}`);
    if (!x.isContiguous()) throw new Error(`gradcheck: input ${i} must be contiguous`);
  });
  const outs = outputsOf(fn(...inputs));
  const gen = new Generator(1234);
  const probes: Probe[] = [];
  outs.forEach((out, oi) => {
    const full = out.size <= (opts.maxFullRows ?? 64);
    const rows = full ? out.size : opts.projections ?? 3;
    for (let r = 0; r < rows; r++) {
      const v = new Float64Array(out.size);
      if (full) v[r] = 1;
      else for (let k = 0; k < v.length; k++) v[k] = gen.normal();
      probes.push({ out: oi, unit: full ? r : -1, v, label: full ? `output ${oi} element ${r}` : `output ${oi} projection ${r}` });
    }
  });
  // analytical vᵀJ, one backward pass per probe
  const analytic = probes.map((p) => {
    const out = outs[p.out]!;
    if (!out.requiresGrad) return diff.map((x) => new Float64Array(x.size));
    const g = grad([out], diff, { gradOutputs: [new Tensor(p.v, out.shape)], retainGraph: true, allowUnused: true });
    return diff.map((x, xi) => (g[xi] ? values(g[xi]!) : new Float64Array(x.size)));
  });
  let worst: { ratio: number; text: string } = { ratio: 0, text: '' };
  diff.forEach((x, xi) => {
    for (let k = 0; k < x.size; k++) {
      const column = centralDifference(fn, inputs, x, k, eps);
      probes.forEach((p, pi) => {
        const d = column[p.out]!;
        let numeric = 0;
        if (p.unit >= 0) numeric = d[p.unit]!;
        else for (let j = 0; j < d.length; j++) numeric += p.v[j]! * d[j]!;
        const a = analytic[pi]![xi]![k]!;
        const err = Math.abs(a - numeric), ratio = err / (atol + rtol * Math.abs(numeric));
        if (!(ratio <= worst.ratio)) {
          worst = {
            ratio: Number.isNaN(ratio) ? Infinity : ratio,
            text: `gradcheck: Jacobian mismatch for input ${inputs.indexOf(x)} (shape ${fmt(x.shape)}) element ${k}, ${p.label}: ` +
              `analytical ${a}, numerical ${numeric} (|diff| ${err.toExponential(3)} > atol ${atol} + rtol ${rtol}·|numerical|)`,
          };
        }
      });
    }
  });
  if (worst.ratio > 1) throw new Error(worst.text);
  return true;
}

/** (f(x + eps·e_k) − f(x − eps·e_k)) / 2eps for every floating output, flattened. */
function centralDifference(fn: Fn, inputs: readonly Tensor[], x: Tensor, k: number, eps: number): Float64Array[] {
  const p = x.offset + k, orig = x.data[p]!;
  const evaluate = (): Float64Array[] => outputsOf(noGrad(() => fn(...inputs))).map(values);
  try {
    x.data[p] = orig + eps;
    const plus = evaluate();
    x.data[p] = orig - eps;
    const minus = evaluate();
    return plus.map((y, i) => y.map((v, j) => (v - minus[i]![j]!) / (2 * eps)));
  } finally {
    x.data[p] = orig;
  }
}
