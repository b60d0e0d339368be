/**
 * The backward engine: an iterative topological walk of the recorded graph (no recursion limit),
 * with the one central place where a gradient is summed back over broadcast dimensions.
 */
import { backend } from '../backend/backend.js';
import { type DType, allocateUninitialized } from '../tensor/dtype.js';
import { fmt, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { setGradEnabled, isGradEnabled } from './grad-mode.js';
import { Node } from './node.js';

/** The few tensor ops the engine needs; src/ops installs them (autograd sits below ops). */
export interface EngineOps {
  add(a: Tensor, b: Tensor): Tensor;
  /** Sum a broadcast gradient back to `shape`. */
  sumTo(g: Tensor, shape: readonly number[]): Tensor;
  onesLike(t: Tensor): Tensor;
  cast(t: Tensor, dtype: DType): Tensor;
  contiguous(t: Tensor): Tensor;
}

let ops: EngineOps | null = null;
export function installEngineOps(o: EngineOps): void {
  ops = o;
}
export function engineOps(): EngineOps {
  if (!ops) throw new Error('nabla: ops are not loaded (import from the package root)');
  return ops;
}

const retained = new WeakSet<Tensor>();

/** Told of every .grad the engine sets, before it does (compile records them to set them again on replay). */
let gradListener: ((t: Tensor, g: Tensor) => void) | null = null;
export function setGradListener(f: ((t: Tensor, g: Tensor) => void) | null): void {
  gradListener = f;
}
function setGrad(t: Tensor, g: Tensor): void {
  gradListener?.(t, g);
  t.grad = g;
}
/** Keep .grad for a non-leaf tensor too (torch's retain_grad). */
export function retainGrad(t: Tensor): void {
  retained.add(t);
}

export interface BackwardOptions {
  /** Keep the graph's saved tensors so backward can run through it again. Default: createGraph. */
  retainGraph?: boolean;
  /** Record the backward pass itself, for gradients of gradients. Default false. */
  createGraph?: boolean;
}

/** Tensors with a grad_fn reachable from the roots, inputs before the ops that consumed them. */
function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [], seen = new Set<number>();
  const stack: { t: Tensor; i: number }[] = [];
  for (const r of roots) {
    if (!r.gradFn || seen.has(r.id)) continue;
    seen.add(r.id);
    stack.push({ t: r, i: 0 });
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const inputs = top.t.gradFn!.inputs;
      if (top.i < inputs.length) {
        const x = inputs[top.i++];
        if (x && x.gradFn && x.requiresGrad && !seen.has(x.id)) { seen.add(x.id); stack.push({ t: x, i: 0 }); }
      } else {
        order.push(top.t);
        stack.pop();
      }
    }
  }
  return order;
}

/**
 * Propagate `seeds` (gradients of `roots`) through the graph. With `capture`, gradients of those tensors
 * are returned and no .grad is touched (autograd.grad); otherwise leaf gradients accumulate into .grad.
 */
export function runBackward(roots: readonly Tensor[], seeds: readonly Tensor[], opts: BackwardOptions = {}, capture?: readonly Tensor[]): Map<number, Tensor> {
  const o = engineOps();
  const createGraph = opts.createGraph ?? false, retainGraph = opts.retainGraph ?? createGraph;
  const captureIds = capture ? new Set(capture.map((t) => t.id)) : null;
  const grads = new Map<number, Tensor>();
  const accumulate = (x: Tensor, g: Tensor): void => {
    const prev = grads.get(x.id);
    grads.set(x.id, prev ? o.add(prev, g) : g);
  };
  // storages handed to the user as .grad in this pass: no two gradients (nor a gradient and a seed) may share one
  const handedOut = new Set<unknown>(seeds.map((s) => s.data));
  const own = (g: Tensor): Tensor => {
    const c = createGraph ? g : o.contiguous(g);
    const owned = !createGraph && handedOut.has(c.data) ? copyOf(c) : c;
    handedOut.add(owned.data);
    return owned;
  };
  const prevMode = isGradEnabled();
  setGradEnabled(createGraph);
  try {
    roots.forEach((r, i) => accumulate(r, seeds[i]!));
    const order = topoOrder(roots);
    const leaves: Tensor[] = roots.filter((r) => !r.gradFn && r.requiresGrad);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!, node = t.gradFn as Node;
      const g = grads.get(t.id);
      if (!captureIds?.has(t.id)) grads.delete(t.id);
      if (!g) continue;
      if (retained.has(t)) setGrad(t, own(g));
      const inGrads = node.apply(g);
      if (!retainGraph) node.release();
      node.inputs.forEach((x, i) => {
        let gi = inGrads[i];
        if (!x || !gi || !x.requiresGrad) return;
        if (!shapesEqual(gi.shape, x.shape)) gi = o.sumTo(gi, x.shape);
        if (gi.dtype !== x.dtype) gi = o.cast(gi, x.dtype);
        if (!x.gradFn && !grads.has(x.id)) leaves.push(x);
        accumulate(x, gi);
      });
    }
    if (!captureIds) {
      for (const x of leaves) {
        const g = grads.get(x.id);
        if (!g) continue;
        setGrad(x, x.grad ? o.add(x.grad, g) : own(g));
      }
    }
  } finally {
    setGradEnabled(prevMode);
  }
  return grads;
}

/** A leaf's .grad must never alias a tensor the user holds (the seed, another .grad, or a view of them). */
function copyOf(t: Tensor): Tensor {
  const out = new Tensor(allocateUninitialized(t.dtype, t.size), t.shape);
  backend().copy(t, out); // a kernel, so that a compiled step repeats it
  return out;
}

function defaultSeed(root: Tensor, op: string): Tensor {
  if (root.size !== 1) throw new Error(`${op}: grad can be implicitly created only for scalar outputs, got shape ${fmt(root.shape)}`);
  return engineOps().onesLike(root);
}

function checkRoot(root: Tensor, op: string): void {
  if (!root.requiresGrad) throw new Error(`${op}: tensor does not require grad and has no grad_fn (did you forget requiresGrad, or run under noGrad?)`);
}

/** tensor.backward(gradient?): accumulate d(root)/d(leaf) into every leaf's .grad. */
export function backward(root: Tensor, gradient?: Tensor, opts: BackwardOptions = {}): void {
  checkRoot(root, 'backward');
  const seed = gradient ?? defaultSeed(root, 'backward');
  if (!shapesEqual(seed.shape, root.shape)) throw new Error(`backward: gradient shape ${fmt(seed.shape)} does not match tensor shape ${fmt(root.shape)}`);
  runBackward([root], [seed], opts);
}

export interface GradOptions extends BackwardOptions {
  gradOutputs?: readonly (Tensor | null)[];
  /** Return null for inputs that outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/** autograd.grad(outputs, inputs): gradients of outputs w.r.t. inputs, returned (no .grad touched). */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = outputs instanceof Tensor ? [outputs] : [...outputs];
  const ins = inputs instanceof Tensor ? [inputs] : [...inputs];
  outs.forEach((t) => checkRoot(t, 'grad'));
  const seeds = outs.map((t, i) => opts.gradOutputs?.[i] ?? defaultSeed(t, 'grad'));
  const grads = runBackward(outs, seeds, opts, ins);
  return ins.map((x, i) => {
    const g = grads.get(x.id);
    if (!g && !opts.allowUnused) throw new Error(`grad: input ${i} (shape ${fmt(x.shape)}) was not used to compute the outputs; pass { allowUnused: true }`);
    return g ?? null;
  });
}
