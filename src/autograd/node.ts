/**
 * A node of the recorded graph: the op's name, its inputs, and its backward rule.
 * Backward rules are tensor expressions, so a graph can be recorded through them (double backward).
 */
import { Tensor, type GradFn } from '../tensor/tensor.js';
import { isGradEnabled } from './grad-mode.js';

/** Maps the gradient of the output to one gradient per input (null: no gradient flows there). */
export type BackwardRule = (grad: Tensor) => readonly (Tensor | null | undefined)[];

const FREED = 'backward: trying to backward through the graph a second time (its saved tensors were freed); ' +
  'pass { retainGraph: true } to the first backward() if you need to backward twice';

export class Node implements GradFn {
  private rule: BackwardRule | null;
  constructor(readonly name: string, readonly inputs: readonly (Tensor | null)[], rule: BackwardRule) {
    this.rule = rule;
  }

  apply(grad: Tensor): readonly (Tensor | null | undefined)[] {
    if (!this.rule) throw new Error(FREED);
    return this.rule(grad);
  }

  /** Drop the saved tensors (the closure) once backward has run without retainGraph. */
  release(): void {
    this.rule = null;
  }
}

/** True when an op on these inputs must be recorded. */
export function needsGrad(...inputs: readonly unknown[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t instanceof Tensor && t.requiresGrad) return true;
  return false;
}

/** Attach a backward rule to an op's output when any input requires grad; returns out. */
export function record(out: Tensor, name: string, inputs: readonly unknown[], rule: BackwardRule): Tensor {
  if (!needsGrad(...inputs) || !out.isFloatingPoint) return out;
  out.requiresGrad = true;
  out.gradFn = new Node(name, inputs.map((t) => (t instanceof Tensor ? t : null)), rule);
  return out;
}
