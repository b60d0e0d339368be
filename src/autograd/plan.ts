/**
 * A recorded step (see compile.ts): its kernel calls and host steps, the storage each kernel writes, and what a
 * replay does — bind the arguments, run the steps, put the gradients back — plus moving trained parameters into a
 * backend's resident memory once a plan is trusted.
 */
import { type Backend, isResident } from '../backend/backend.js';
import { type TypedArray, allocateUninitialized } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { RandomState } from '../tensor/trace.js';

export interface KernelStep {
  kind: 'kernel'; method: string; args: unknown[]; ret: unknown;
  /** The call bound by the backend for replays (Backend.bind), and the backend method it stands for (null until bound). */
  bound: (() => unknown) | null; boundTo: unknown;
}
export interface HostStep { kind: 'host'; fn: () => void }
export type Step = KernelStep | HostStep;

export interface Plan {
  be: Backend;
  steps: Step[];
  /** The plan's own copies of the tensor arguments, refilled from the caller's on every replay. */
  inputs: (Tensor | null)[];
  /**
   * Per argument, the places in the recorded arguments that hold its storage, when a replay may point them at the
   * caller's own (contiguous, neither written nor returned by the step, nor read by a host step; on a backend with
   * resident memory, resident too): no copy then. Null: copy.
   */
  aliases: (Slot[] | null)[];
  outputs: Tensor[];
  shape: 'one' | 'list' | 'none';
  /** .grad values the trace set, from null (zeroGrad) to the plan's buffer. */
  grads: Map<Tensor, Tensor>;
  /** Those of the tensors that existed before the trace (parameters): their .grad must be null at a replay. */
  leaves: Tensor[];
  /** Index of the first kernel step that writes storage the plan does not own (before it a replay can be abandoned). */
  firstExternalWrite: number;
  /** All the storage its kernels write (an argument whose storage overlaps one is never read in place). */
  written: TypedArray[];
  /** The storage outside the plan that its kernels write (checked by the verifying replay). */
  externalWrites: TypedArray[];
  /** Random generators its host steps draw from (rewound while the plan is checked). */
  generators: RandomState[];
  /** Every array the backend gave the plan (keeps resident memory alive while views of it are in use). */
  storage: TypedArray[];
  /** Whether the plan passed its checking replay (compile.ts); only trusted plans are replayed, so only they are bound. */
  trusted: boolean;
  /**
   * Calls bound for replays that read resident arguments in place (on wasm, a DataLoader's reused batch buffers), per
   * set of such arrays, the latest IN_PLACE_SETS kept: per step, the call bound to those arrays for a step that reads
   * them (false: none could be bound, the backend's method runs), null for the others (their own bound call).
   */
  inPlace: { arrays: TypedArray[]; bound: ((() => unknown) | null | false)[] }[];
  /** The resident arguments the replay under way reads in place (bindInputs fills it, unbindInputs empties it). */
  residentArgs: TypedArray[];
}

export const FALLBACK = Symbol('fallback');
/** A fresh contiguous copy of t, made by the backend's copy kernel. */
export function copyOf(be: Backend, t: Tensor): Tensor {
  const out = new Tensor(allocateUninitialized(t.dtype, t.size), t.shape);
  be.copy(t, out);
  return out;
}

/** A replay's fresh copy of an output: its elements copied as they are when contiguous (a loss: one number), else copyOf. */
function outputCopy(be: Backend, t: Tensor): Tensor {
  if (!t.isContiguous()) return copyOf(be, t);
  const data = allocateUninitialized(t.dtype, t.size);
  data.set(t.data.subarray(t.offset, t.offset + t.size) as never);
  return new Tensor(data, t.shape);
}

/** A place in the recorded arguments holding a TypedArray: container[key]. */
export interface Slot { container: Record<string | number, unknown>; key: string | number }

/** Every TypedArray among recorded arguments (two levels deep: views and argument objects), with its place. */
function arraySlots(args: readonly unknown[], out: { slot: Slot; value: TypedArray }[] = []): { slot: Slot; value: TypedArray }[] {
  const visit = (container: Record<string | number, unknown>, depth: number): void => {
    for (const key of Object.keys(container)) {
      const v = container[key];
      if (ArrayBuffer.isView(v)) out.push({ slot: { container, key: Array.isArray(container) ? Number(key) : key }, value: v as TypedArray });
      else if (v && typeof v === 'object' && depth < 2) visit(v as Record<string, unknown>, depth + 1);
    }
  };
  visit(args as unknown as Record<number, unknown>, 0);
  return out;
}

/** arraySlots over every kernel step. */
function stepSlots(steps: readonly Step[]): { slot: Slot; value: TypedArray }[] {
  const out: { slot: Slot; value: TypedArray }[] = [];
  for (const s of steps) if (s.kind === 'kernel') arraySlots(s.args, out);
  return out;
}

/** Every place among the steps' arguments that holds exactly `data`. */
export function slotsOf(steps: readonly Step[], data: TypedArray): Slot[] {
  return stepSlots(steps).filter((e) => e.value === data).map((e) => e.slot);
}

type Args = readonly unknown[];
const v = (a: Args, i: number): TypedArray => (a[i] as { data: TypedArray }).data;
const t = (a: Args, i: number): TypedArray => a[i] as TypedArray;
/** The storage each kernel writes (see src/backend/backend.ts); kernels not listed count as writing every array they get. */
const WRITES: Record<string, (a: Args) => (TypedArray | null | undefined)[]> = {
  unary: (a) => [t(a, 2)], binary: (a) => [t(a, 3)], where: (a) => [t(a, 3)], copy: (a) => [v(a, 1)],
  reduce: (a) => [t(a, 6)], gemm: (a) => [(a[0] as { c: TypedArray }).c], gather: (a) => [t(a, 3)], scatterAdd: (a) => [t(a, 0)],
  im2col: (a) => [t(a, 4)], col2im: (a) => [t(a, 4)], maxPool2d: (a) => [t(a, 2), t(a, 3)], maxPool2dBackward: (a) => [t(a, 4)],
  avgPool2d: (a) => [t(a, 3)], avgPool2dBackward: (a) => [t(a, 5)], batchNormStats: (a) => [t(a, 1), t(a, 2)],
  channelAffine: (a) => [t(a, 3)], batchNormBackward: (a) => [t(a, 5), t(a, 6)], gatherRowsU8: (a) => [t(a, 4)],
  activationGrad: (a) => [t(a, 3)], reluGrad: (a) => [t(a, 2)], bceForward: (a) => [t(a, 2)], bceBackward: (a) => [t(a, 3)],
  softmaxLastDim: (a) => [t(a, 2)],
  conv2dDirect: (a) => [t(a, 4)], conv2d: (a) => [t(a, 4)], conv2dInputGrad: (a) => [t(a, 3)],
  conv2dDirectWeightGrad: (a) => [t(a, 3), t(a, 4)], conv2dWeightGrad: (a) => [t(a, 3), t(a, 4)],
};

/** The storage each kernel step writes. */
function writtenBy(s: KernelStep): (TypedArray | null | undefined)[] {
  return WRITES[s.method]?.(s.args) ?? arraySlots(s.args).map((e) => e.value);
}

/** All the storage the steps' kernels write. */
export function writtenArrays(steps: readonly Step[]): Set<unknown> {
  const out = new Set<unknown>();
  for (const s of steps) if (s.kind === 'kernel') for (const w of writtenBy(s)) out.add(w);
  return out;
}

/** The storage outside the plan (`outside(a)`) that its kernels write, and the first step that writes any. */
export function externalWritesOf(steps: readonly Step[], outside: (a: TypedArray) => boolean): { firstExternalWrite: number; externalWrites: TypedArray[] } {
  let firstExternalWrite = steps.length;
  const externalWrites = new Set<TypedArray>();
  steps.forEach((s, i) => {
    if (s.kind !== 'kernel') return;
    for (const w of writtenBy(s)) {
      if (w && outside(w)) { externalWrites.add(w); if (i < firstExternalWrite) firstExternalWrite = i; }
    }
  });
  return { firstExternalWrite, externalWrites: [...externalWrites] };
}

/** Every plan that may still run, so that moving a parameter's storage can point all of them at the new array. */
const livePlans = new Set<WeakRef<Plan>>();

/** Note a new plan (forgetting those collected since). */
export function registerPlan(plan: Plan): void {
  for (const r of livePlans) if (!r.deref()) livePlans.delete(r);
  livePlans.add(new WeakRef(plan));
}

const overlaps = (a: TypedArray, b: TypedArray): boolean =>
  a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;

/**
 * Once a plan is trusted, move the parameters it trains into the backend's resident memory, when the backend has
 * some (wasm): the replayed products and the optimizer's fused step then read and write them in place instead of
 * copying ~1 MB per step in and out. Every live plan is pointed at the new arrays; nothing moves when a recorded
 * argument is a partial view of a parameter's storage (it could not be followed).
 */
export function residentParameters(plan: Plan): void {
  const be = plan.be;
  if (!be.allocateResident) return;
  const candidates = plan.leaves.filter((p) => !isResident(p.data) && p.offset === 0 &&
    p.data.length === p.size && p.isContiguous() && p.data instanceof Float32Array);
  if (!candidates.length) return;
  const plans = [...livePlans].map((r) => r.deref()).filter((q): q is Plan => q !== undefined && q.be === be);
  const slots = plans.flatMap((q) => stepSlots(q.steps));
  for (const { value } of slots) {
    for (const p of candidates) if (value !== p.data && overlaps(value, p.data)) return; // a view we cannot follow
  }
  const moved = new Map<TypedArray, TypedArray>();
  for (const p of candidates) {
    const r = be.allocateResident(p.dtype, p.size);
    if (!r) break;
    r.set(p.data);
    moved.set(p.data, r);
    (p as { data: TypedArray }).data = r; // the parameter's storage is now the resident array (values unchanged)
  }
  for (const { slot, value } of slots) { const r = moved.get(value); if (r) slot.container[slot.key] = r; }
  for (const q of plans) {
    q.externalWrites = q.externalWrites.map((a) => moved.get(a) ?? a);
    q.written = q.written.map((a) => moved.get(a) ?? a);
    q.outputs = q.outputs.map((o) => (moved.has(o.data) ? new Tensor(moved.get(o.data)!, o.shape, o.strides, o.offset) : o));
  }
}

/**
 * Let the backend bind each kernel call of the trusted plans on `be` (Backend.bind), once their arrays are final: after
 * a plan is trusted and parameters moved (which may repoint the plans trusted before). A bound call is used while the
 * backend's method is the one it was bound for (a profiler that wraps the method sees the calls again) and while no
 * argument is read in place.
 */
export function bindPlans(be: Backend): void {
  if (!be.bind) return;
  const methods = be as unknown as Record<string, unknown>;
  for (const r of livePlans) {
    const plan = r.deref();
    if (!plan || plan.be !== be || !plan.trusted) continue;
    for (const s of plan.steps) {
      if (s.kind !== 'kernel') continue;
      s.bound = be.bind(s.method, s.args);
      s.boundTo = methods[s.method];
    }
    plan.inPlace = [];
  }
}

/** Sets of resident arguments a plan keeps bound calls for (a DataLoader's reused buffers go round 4). */
const IN_PLACE_SETS = 4;

/**
 * The bound calls of a trusted plan for the resident arguments this replay reads in place (plan.residentArgs, which
 * bindInputs pointed the recorded calls at): the steps that read them bound once per set of arrays; null when the
 * backend binds nothing.
 */
function inPlaceCalls(plan: Plan): ((() => unknown) | null | false)[] | null {
  const be = plan.be, args = plan.residentArgs;
  if (!be.bind || !plan.trusted) return null;
  for (const e of plan.inPlace) if (e.arrays.length === args.length && e.arrays.every((a, k) => a === args[k])) return e.bound;
  const arrays = args.slice();
  const bound = plan.steps.map((s) => (s.kind === 'kernel' && arraySlots(s.args).some((e) => arrays.includes(e.value)) ? be.bind!(s.method, s.args) ?? false : null));
  if (plan.inPlace.length >= IN_PLACE_SETS) plan.inPlace.shift();
  plan.inPlace.push({ arrays, bound });
  return bound;
}

/**
 * Run the plan's kernels on new arguments. With `setGrads`, the traced .grad tensors are put back on their
 * tensors (which must hold null, as after zeroGrad). FALLBACK when the call must run eagerly instead (nothing
 * outside the plan was written yet); throws when a check fails after that.
 */
export function replay(plan: Plan, args: readonly unknown[], setGrads: boolean): unknown {
  const be = plan.be;
  if (setGrads) for (const x of plan.leaves) if (x.grad !== null) return FALLBACK; // would accumulate: eager semantics
  const aliased = bindInputs(plan, args);
  try {
    const inPlace = plan.residentArgs.length ? inPlaceCalls(plan) : null;
    if (runSteps(plan, !aliased || inPlace !== null, inPlace) === FALLBACK) return FALLBACK;
  } finally {
    if (aliased) unbindInputs(plan);
  }
  if (setGrads) for (const [x, g] of plan.grads) x.grad = g;
  if (plan.shape === 'one') return outputCopy(be, plan.outputs[0]!);
  return plan.shape === 'list' ? plan.outputs.map((o) => outputCopy(be, o)) : undefined;
}

/**
 * The recorded kernels and host steps in order (bound calls where allowed); FALLBACK when a check fails before
 * anything outside was written.
 */
function runSteps(plan: Plan, useBound: boolean, inPlace: ((() => unknown) | null | false)[] | null): typeof FALLBACK | void {
  const be = plan.be as unknown as Record<string, (...a: unknown[]) => unknown>, steps = plan.steps;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.kind === 'kernel') {
      const method = be[s.method]!; // looked up now: wrappers (profilers) see replays
      const b = inPlace ? inPlace[i] ?? s.bound : s.bound;
      const ret = useBound && b && method === s.boundTo ? b() : method.apply(be, s.args);
      if (ret !== s.ret) {
        if (i < plan.firstExternalWrite) return FALLBACK;
        throw new Error(`compile: kernel ${s.method} returned ${String(ret)} on replay but ${String(s.ret)} when traced, after the step had written outside itself; run the function without compile to see the op's own error`);
      }
    } else {
      try {
        s.fn();
      } catch (e) {
        if (i < plan.firstExternalWrite) return FALLBACK; // the eager run raises the op's error
        throw e;
      }
    }
  }
}

/**
 * Give the replay its arguments: a contiguous argument with its own whole storage, clear of all the storage the
 * plan writes, is read in place where the plan allows (see Plan.aliases); the others are copied into the plan's input
 * buffers by the backend's copy. On a backend with resident memory only a resident argument is read in place (a
 * DataLoader's reused MNIST buffer, which a worker decoded the batch into: no copy of it at all), with the calls that
 * read it bound for its array (inPlaceCalls); an ordinary array is copied once into the plan's resident input buffer,
 * since every kernel would otherwise copy it into memory again (the MLP's batch is read by two products, 200 KB each
 * time). The resident arguments read in place are listed in plan.residentArgs. True when some were read in place.
 */
function bindInputs(plan: Plan, args: readonly unknown[]): boolean {
  let aliased = false;
  const resident = !!plan.be.allocateResident;
  plan.inputs.forEach((own, i) => {
    if (!own) return;
    const a = args[i] as Tensor, slots = plan.aliases[i];
    if (slots && (!resident || isResident(a.data)) && a.offset === 0 && a.data.length === own.size && a.isContiguous() && !plan.written.some((w) => overlaps(w, a.data))) {
      for (const s of slots) s.container[s.key] = a.data;
      aliased = true;
      if (resident) plan.residentArgs.push(a.data);
    } else plan.be.copy(a, own); // the backend's copy: contiguous data in one move (on wasm a memmove when both live in its memory)
  });
  return aliased;
}

/** Point the recorded arguments back at the plan's own input buffers (nothing keeps the caller's storage alive). */
function unbindInputs(plan: Plan): void {
  plan.inputs.forEach((own, i) => { if (own) for (const s of plan.aliases[i] ?? []) s.container[s.key] = own.data; });
  plan.residentArgs.length = 0;
}

