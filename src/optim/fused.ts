/**
 * The seam for fused optimizer kernels. A backend may implement `sgdStep` / `adamStep` to update a
 * parameter in one pass over raw arrays; the optimizers call them when present (and every array is
 * contiguous and of one dtype) and otherwise run their reference update, written with tensor ops.
 * A fused kernel must give the same result as the reference update (the optimizer tests check it).
 */
import { backend, isResident } from '../backend/backend.js';
import { zerosLike } from '../tensor/create.js';
import type { TypedArray } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * One SGD step over n elements, in place: d = g (−g if maximize) + wd·p; with momentum,
 * buf = d on the first step (`firstStep`) else momentum·buf + (1 − dampening)·d, and d = buf
 * (nesterov: d + momentum·buf); then p −= lr·d. `momentumBuffer` is null when momentum is 0.
 */
export interface SgdStepArgs {
  n: number;
  param: TypedArray; grad: TypedArray; momentumBuffer: TypedArray | null;
  lr: number; momentum: number; dampening: number; weightDecay: number;
  nesterov: boolean; maximize: boolean; firstStep: boolean;
}

/**
 * One Adam/AdamW step over n elements, in place (`step` already incremented, ≥ 1): g (−g if
 * maximize); AdamW: p ·= 1 − lr·wd, Adam: g += wd·p; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 * amsgrad: vmax = max(vmax, v) and v̂ = vmax; p −= lr/(1 − β1^step) · m / (√v̂/√(1 − β2^step) + eps).
 */
export interface AdamStepArgs {
  n: number;
  param: TypedArray; grad: TypedArray; expAvg: TypedArray; expAvgSq: TypedArray; maxExpAvgSq: TypedArray | null;
  step: number; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  decoupled: boolean; amsgrad: boolean; maximize: boolean;
}

/** Optional kernels a backend may add next to the ones in src/backend/backend.ts. */
export interface FusedOptimizerKernels {
  sgdStep?(args: SgdStepArgs): void;
  adamStep?(args: AdamStepArgs): void;
  /**
   * The SGD step of `args` bound to its arrays, for a parameter stepped with the same gradient storage every time (a
   * compiled training step refills its .grad tensors in place): the returned function runs sgdStep on those arrays
   * with that learning rate and returns true, or does nothing and returns false once it no longer can (the backend's
   * options changed). Null when the backend has nothing faster than sgdStep for these arrays. The caller keeps every
   * other field of `args` unchanged while it uses the binding.
   */
  bindSgdStep?(args: SgdStepArgs): ((lr: number) => boolean) | null;
  /** As bindSgdStep, for Adam: the returned function takes the learning rate and the step count (≥ 1). */
  bindAdamStep?(args: AdamStepArgs): ((lr: number, step: number) => boolean) | null;
}

/** The current backend's fused optimizer kernels (each may be undefined). */
export const fusedKernels = (): FusedOptimizerKernels => backend() as unknown as FusedOptimizerKernels;

/** Views (sharing storage) of the elements of tensors that are all contiguous and of one dtype, else null. */
export function rawArrays(...ts: readonly Tensor[]): TypedArray[] | null {
  const dtype = ts[0]!.dtype;
  for (const t of ts) if (t.dtype !== dtype || !t.isContiguous()) return null;
  return ts.map((t) => t.data.subarray(t.offset, t.offset + t.size));
}

/**
 * Zeros shaped like parameter p, for an optimizer's state: in the backend's resident memory when p's storage is there
 * (wasm, once a compiled step moved its parameters: see autograd/plan.ts), so that a fused step reads and writes every
 * array in place instead of copying the state in and out on each step; elsewhere an ordinary tensor.
 */
export function stateZerosLike(p: Tensor): Tensor {
  const be = backend();
  const data = isResident(p.data) && be.allocateResident ? be.allocateResident(p.dtype, p.size) : null;
  return data ? new Tensor(data, p.shape) : zerosLike(p);
}

/**
 * State tensor t of parameter p where p now lives: a resident copy when p moved into resident memory after t was made
 * (a compiled step moves its parameters after its second call, when the optimizer has already stepped once), else t.
 */
export function stateBeside(p: Tensor, t: Tensor): Tensor {
  if (!isResident(p.data) || isResident(t.data) || t.dtype !== p.dtype || t.size !== p.size || !t.isContiguous()) return t;
  const z = stateZerosLike(p);
  if (!isResident(z.data)) return t;
  z.data.set(t.data.subarray(t.offset, t.offset + t.size));
  return z;
}

/**
 * Optimizer steps bound by the backend (bindSgdStep, bindAdamStep), per parameter. A binding holds for one list of
 * keys, compared by identity: the backend's kernels, the parameter's and gradient's storage, the state tensors and
 * every option the binding fixed. It is made once the same keys come at two steps in a row (an eager loop makes a new
 * gradient every step, a compiled step refills the same one), and used while they stay the same.
 */
export class BoundSteps<F> {
  private readonly byParam = new WeakMap<Tensor, { keys: readonly unknown[]; run: F | null }>();

  /** The bound step of p for these keys, or null. */
  get(p: Tensor, keys: readonly unknown[]): F | null {
    const b = this.byParam.get(p);
    return b && b.run && sameKeys(b.keys, keys) ? b.run : null;
  }

  /** After an unbound fused step with these keys: bind (`bind()`) when the previous step had the same ones. */
  note(p: Tensor, keys: readonly unknown[], bind: () => F | null): void {
    const b = this.byParam.get(p);
    this.byParam.set(p, { keys, run: b && sameKeys(b.keys, keys) ? bind() : null });
  }

  /** p stepped without a fused kernel: forget its binding. */
  drop(p: Tensor): void {
    this.byParam.delete(p);
  }
}

function sameKeys(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
