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

/**
 * Storage versions, bumped by the in-place writes (copy_, fill_, zero_): a node remembers the versions of its
 * inputs and output, and refuses to run its rule on values that were overwritten since (instead of a silently
 * wrong gradient).
 */
const versions = new WeakMap<object, number>();
const versionOf = (t: Tensor): number => versions.get(t.data) ?? 0;

/** Mark t's storage (and so every view of it) as modified in place. */
export function bumpVersion(t: Tensor): void {
  versions.set(t.data, versionOf(t) + 1);
}

export class Node implements GradFn {
  private rule: BackwardRule | null;
  private readonly versions: number[];
  constructor(readonly name: string, readonly inputs: readonly (Tensor | null)[], rule: BackwardRule, readonly output: Tensor) {
    this.rule = rule;
    this.versions = inputs.map((t) => (t ? versionOf(t) : 0));
    this.versions.push(versionOf(output));
  }

  apply(grad: Tensor): readonly (Tensor | null | undefined)[] {
    if (!this.rule) throw new Error(FREED);
    const n = this.inputs.length;
    for (let i = 0; i <= n; i++) {
      const t = i < n ? this.inputs[i] : this.output;
      if (t && versionOf(t) !== this.versions[i]) {
        throw new Error(`backward: ${i < n ? `input ${i}` : 'the output'} of ${this.name} (shape [${t.shape.join(', ')}]) was modified in place ` +
          '(copy_, fill_ or zero_) after the op used it; clone() it first, or modify it after backward()');
      }
    }
    return this.rule(grad);
  }

  /** Drop the saved tensors (the closure) once backward has run without retainGraph. */
  release(): void {
    this.rule = null;
  }
}

/** True when an op on these inputs must be recorded. */
export function needsGrad(...inputs: readonly unknown[]): boolean {
  return anyNeedsGrad(inputs);
}

function anyNeedsGrad(inputs: readonly unknown[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t instanceof Tensor && t.requiresGrad) return true;
  return false;
}

/** Attach a backward rule to an op's output when any input requires grad; returns out. */
export function record(out: Tensor, name: string, inputs: readonly unknown[], rule: BackwardRule): Tensor {
  if (!anyNeedsGrad(inputs) || !out.isFloatingPoint) return out; // no spread copy of inputs on every op
  out.requiresGrad = true;
  out.gradFn = new Node(name, inputs.map((t) => (t instanceof Tensor ? t : null)), rule, out);
  return out;
}
