/**
 * compile(fn): run a training step's forward and backward once eagerly while recording every kernel call, then
 * replay the recorded calls on later inputs of the same shapes, reusing every buffer. A replay runs no op
 * layer, no autograd graph and no allocation: only the kernels (and the `hostStep` checks that ops register),
 * which is what makes small steps fast and takes the garbage collector out of the loop.
 *
 * The contract is jax.jit's and CUDA graphs': the function's JavaScript runs only while it is traced, so it must
 * compute with tensor ops and must not branch on tensor values. compile checks what it can rather than trusting:
 * - a plan is used only after a replay of it reproduced a second eager run on new inputs (outputs, gradients and
 *   every buffer it writes outside itself);
 * - checks on values and random draws (dropout) run as host steps, again on every replay;
 * - anything a replay could not repeat — reading values (item, dataSync), other random draws (randperm), an
 *   optimizer's step or zeroGrad, accumulating into existing .grad, inputs that require grad — makes the function
 *   run eagerly for that input signature, with one warning that says why;
 * - plans are keyed by the inputs' shapes and dtypes, the backend, grad mode and the modules' train/eval state.
 * Outputs are returned as fresh detached copies; the parameters' .grad tensors are set as backward() would set
 * them after zeroGrad(), and are refilled in place by later replays.
 */
import { type Backend, activeBackend, setRecorder } from '../backend/backend.js';
import { type DType, type TypedArray, zeroed } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type RandomState, type TraceHooks, setTraceHooks, traceHooks, traceStateKey } from '../tensor/trace.js';
import { setGradListener } from './engine.js';
import { isGradEnabled } from './grad-mode.js';
import { FALLBACK, type Plan, type Step, bindPlans, copyOf, externalWritesOf, registerPlan, replay, residentParameters, slotsOf, writtenArrays } from './plan.js';

type Fn = (...args: never[]) => unknown;
type Run = (...args: unknown[]) => unknown;

interface Traced { result: unknown; plan: Plan | null; reason: string | null }

interface Entry { state: 'traced' | 'ready' | 'eager'; plan: Plan | null }

/** What a compiled function did so far (for tests and benchmarks). */
export interface CompileStats { traces: number; replays: number; eagerCalls: number; fallbacks: number; plans: number }

export interface CompileOptions {
  /** Input signatures to keep plans for (least recently used dropped first); default 4. */
  maxPlans?: number;
  /** Warn (console.warn) when a signature has to run eagerly; default true. */
  warn?: boolean;
}

export type Compiled<F extends Fn> = F & { readonly stats: CompileStats };

/** Compile a function of tensors that runs a forward pass and `backward()`; see the file comment. */
export function compile<F extends Fn>(fn: F, opts: CompileOptions = {}): Compiled<F> {
  if (typeof fn !== 'function') throw new TypeError('compile: expected a function');
  const maxPlans = opts.maxPlans ?? 4, warn = opts.warn ?? true;
  const run = fn as unknown as Run;
  const entries = new Map<string, Entry>();
  const warned = new Set<string>();
  const stats: CompileStats = { traces: 0, replays: 0, eagerCalls: 0, fallbacks: 0, plans: 0 };
  const eager = (args: unknown[]): unknown => { stats.eagerCalls++; return run(...args); };
  const giveUp = (entry: Entry, reason: string): void => {
    entry.state = 'eager';
    entry.plan = null;
    if (warn && !warned.has(reason)) {
      warned.add(reason);
      console.warn(`nabla compile: running eagerly: ${reason}`);
    }
  };

  const keyOf = lastKey();
  const compiled = (...args: unknown[]): unknown => {
    if (traceHooks()) return run(...args); // inside another trace: record through
    const key = keyOf(args);
    if (key === null) return eager(args);
    let entry = entries.get(key);
    if (entry) { entries.delete(key); entries.set(key, entry); } // most recently used last
    if (!entry) {
      stats.traces++;
      const t = trace(run, args);
      entry = { state: 'traced', plan: t.plan };
      entries.set(key, entry);
      if (entries.size > maxPlans) entries.delete(entries.keys().next().value!);
      if (t.reason) giveUp(entry, t.reason);
      return t.result;
    }
    if (entry.state === 'eager') return eager(args);
    if (entry.state === 'traced') {
      stats.traces++;
      const verdict = verify(run, entry.plan!, args);
      if (verdict.problem) giveUp(entry, verdict.problem);
      else { entry.state = 'ready'; stats.plans++; entry.plan!.trusted = true; residentParameters(entry.plan!); bindPlans(entry.plan!.be); }
      return verdict.result;
    }
    const r = replay(entry.plan!, args, true);
    if (r === FALLBACK) { stats.fallbacks++; return eager(args); }
    stats.replays++;
    return r;
  };
  Object.defineProperty(compiled, 'stats', { value: stats });
  return compiled as unknown as Compiled<F>;
}

/** The cache key of a call, or null when an argument is of a kind compile does not handle. */
function signature(args: readonly unknown[]): string | null {
  const parts = [activeBackend().name, isGradEnabled() ? 'grad' : 'nograd', traceStateKey()];
  for (const a of args) {
    if (a instanceof Tensor) parts.push(`${a.dtype}${fmt(a.shape)}${a.requiresGrad ? ' requiresGrad' : ''}`);
    else if (a === undefined || a === null || typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean') parts.push(`${typeof a} ${String(a)}`);
    else return null;
  }
  return parts.join('|');
}

/**
 * signature(args), kept from the last call and made again only when something it is made of changed: a training loop
 * calls with the same shapes every time, and the key's string need not be built for each step.
 */
function lastKey(): (args: readonly unknown[]) => string | null {
  let key: string | null = null, be: Backend | null = null, grad = false, state = '';
  // per argument: 't', dtype, requiresGrad, rank and sizes for a tensor; 'p' and the value for anything else
  const seen: unknown[] = [];
  const same = (args: readonly unknown[]): boolean => {
    let k = 0;
    for (const a of args) {
      if (a instanceof Tensor) {
        const shape = a.shape;
        if (seen[k++] !== 't' || seen[k++] !== a.dtype || seen[k++] !== a.requiresGrad || seen[k++] !== shape.length) return false;
        for (let d = 0; d < shape.length; d++) if (seen[k++] !== shape[d]) return false;
      } else if (seen[k++] !== 'p' || seen[k++] !== a) return false;
    }
    return k === seen.length;
  };
  return (args) => {
    const b = activeBackend(), g = isGradEnabled(), st = traceStateKey();
    if (key !== null && b === be && g === grad && st === state && same(args)) return key;
    key = signature(args);
    be = b; grad = g; state = st;
    seen.length = 0;
    for (const a of args) {
      if (a instanceof Tensor) seen.push('t', a.dtype, a.requiresGrad, a.shape.length, ...a.shape);
      else seen.push('p', a);
    }
    return key;
  };
}

/** Byte ranges of storage the plan owns (allocated while tracing), by buffer. */
class Owned {
  private ranges = new Map<ArrayBufferLike, [number, number][]>();
  add(a: TypedArray): void {
    let list = this.ranges.get(a.buffer);
    if (!list) this.ranges.set(a.buffer, list = []);
    list.push([a.byteOffset, a.byteOffset + a.byteLength]);
  }
  has(a: TypedArray): boolean {
    const list = this.ranges.get(a.buffer);
    if (!list) return false;
    const lo = a.byteOffset, hi = a.byteOffset + a.byteLength;
    return list.some(([s, e]) => s <= lo && hi <= e);
  }
}

/** Kernel arguments as recorded: plain objects and arrays copied (ops may reuse them), tensors as plain views. */
function snapshot(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  if (v instanceof Tensor) return { data: v.data, shape: v.shape, strides: v.strides, offset: v.offset };
  if (Array.isArray(v)) return v.map(snapshot);
  if (Object.getPrototypeOf(v) === Object.prototype) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = snapshot((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

/** Run fn eagerly with the kernel calls recorded; the plan is null when something could not be recorded. */
function trace(fn: Run, args: unknown[]): Traced {
  const be = activeBackend();
  const owned = new Owned();
  const steps: Step[] = [];
  const grads = new Map<Tensor, Tensor>();
  const generators = new Set<RandomState>();
  let reason: string | null = null, hostDepth = 0;
  /** The storage host steps read (as they declared it), or 'any' once one did not say. */
  let hostReads: Set<TypedArray> | 'any' = new Set();
  const unsupported = (what: string): void => { if (hostDepth === 0 && reason === null) reason = what; };
  // storage of the plan: in the backend's memory when it offers that (wasm: kernels then copy nothing), else plain
  // arrays; the plan keeps every resident array it was given, since views of one do not keep it alive
  const storage: TypedArray[] = [];
  const allocate = (dtype: DType, size: number): TypedArray => {
    const resident = be.allocateResident?.(dtype, size) ?? null;
    if (resident) storage.push(resident);
    const a = resident ?? zeroed(dtype, size);
    owned.add(a);
    return a;
  };
  // the plan's own inputs: contiguous copies, filled again from the caller's tensors on each replay
  const inputs = args.map((a) => {
    if (!(a instanceof Tensor)) return null;
    if (a.requiresGrad) unsupported(`an argument requires grad (shape ${fmt(a.shape)}); pass parameters through the closure, not as arguments`);
    const own = new Tensor(allocate(a.dtype, a.size), a.shape);
    be.copy(a, own);
    return own;
  });
  const callArgs = args.map((a, i) => inputs[i] ?? a);
  const hooks: TraceHooks = {
    allocate,
    unsupported,
    drew: (g) => {
      if (hostDepth === 0) unsupported('random numbers drawn outside a host step');
      else generators.add(g);
    },
    hostStep: (f, reads) => {
      hostDepth++;
      try { f(); } finally { hostDepth--; }
      if (hostDepth > 0) return;
      steps.push({ kind: 'host', fn: f });
      if (!reads) hostReads = 'any';
      else if (hostReads !== 'any') for (const r of reads) hostReads.add(r);
    },
  };
  const record = (method: string, a: unknown[], ret: unknown): void => {
    if (hostDepth === 0) steps.push({ kind: 'kernel', method, args: a.map(snapshot), ret, bound: null, boundTo: null }); // (bound: set by bindPlans; one object shape from the start)
  };
  const recorder = recordingBackend(be, record);
  const before = new Map<Tensor, Tensor | null>(); // each .grad before the trace first set it
  const prevHooks = setTraceHooks(hooks);
  setRecorder(recorder);
  setGradListener((x, g) => {
    if (!before.has(x)) before.set(x, x.grad);
    grads.set(x, g);
  });
  let result: unknown;
  try {
    result = fn(...callArgs);
  } finally {
    setGradListener(null);
    setRecorder(null);
    setTraceHooks(prevHooks);
  }
  for (const [x, b] of before) if (b !== null) unsupported(`backward() accumulated into an existing .grad (shape ${fmt(x.shape)}); call zeroGrad() before the compiled step`);
  const outs = outputsOf(result);
  if (!outs) unsupported('the function must return a tensor, an array of tensors, or nothing');
  const copies = outs ? outs.list.map((o) => copyOf(be, o)) : null;
  const userResult = !outs ? result : outs.shape === 'one' ? copies![0] : outs.shape === 'list' ? copies : undefined;
  if (reason !== null || !outs) return { result: userResult, plan: null, reason };
  const { firstExternalWrite, externalWrites } = externalWritesOf(steps, (a) => !owned.has(a));
  const leaves = [...grads.keys()].filter((x) => !owned.has(x.data));
  // arguments that no kernel writes, no host step reads and the step does not return (its output is copied after the
  // replay) can be read in place from the caller's tensor (on a backend with resident memory, when it is resident: see
  // bindInputs)
  const written = writtenArrays(steps);
  const returned = new Set(outs.list.map((o) => o.data));
  const inPlace = (a: TypedArray): boolean => hostReads !== 'any' && !hostReads.has(a) && !written.has(a) && !returned.has(a);
  const aliases = inputs.map((own) => (own && inPlace(own.data) ? slotsOf(steps, own.data) : null));
  const plan: Plan = { be, steps, inputs, aliases, outputs: outs.list, shape: outs.shape, grads, leaves, firstExternalWrite, written: [...written].filter((w): w is TypedArray => ArrayBuffer.isView(w)), externalWrites, generators: [...generators], storage, trusted: false, inPlace: [], residentArgs: [] };
  registerPlan(plan);
  return { result: userResult, plan, reason: null };
}

/** A backend whose every method records its call (after running it) through `record`. */
function recordingBackend(be: Backend, record: (method: string, args: unknown[], ret: unknown) => void): Backend {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(be, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || prop === 'allocateResident') return value; // allocation is not a kernel
      let w = wrappers.get(prop);
      if (!w) {
        const call = value as (...a: unknown[]) => unknown;
        w = (...a: unknown[]): unknown => {
          const ret = call.apply(target, a);
          record(String(prop), a, ret);
          return ret;
        };
        wrappers.set(prop, w);
      }
      return w;
    },
  });
}

/** fn's result as a list of tensors, or null when it is something else. */
function outputsOf(r: unknown): { list: Tensor[]; shape: Plan['shape'] } | null {
  if (r === undefined) return { list: [], shape: 'none' };
  if (r instanceof Tensor) return { list: [r], shape: 'one' };
  if (Array.isArray(r) && r.every((x) => x instanceof Tensor)) return { list: r as Tensor[], shape: 'list' };
  return null;
}

/** Node's Buffer, for comparing bytes natively. */
const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, offset: number, length: number): { equals(o: unknown): boolean } } }).Buffer;

/** Whether two arrays of one type hold the same bytes (a replay usually reproduces the eager run bit for bit). */
function sameBytes(a: TypedArray, b: TypedArray): boolean {
  if (!NodeBuffer || a.constructor !== b.constructor || a.length !== b.length) return false;
  return NodeBuffer.from(a.buffer, a.byteOffset, a.byteLength).equals(NodeBuffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** a and b equal up to float32 rounding differences of reordered sums (NaN matches NaN). */
function close(a: TypedArray, b: TypedArray): boolean {
  if (a.length !== b.length) return false;
  if (sameBytes(a, b)) return true; // natively, where the loops below would run cold while the plan is checked
  let scale = 0;
  for (let i = 0; i < b.length; i++) { const m = Math.abs(b[i]!); if (m > scale && m !== Infinity) scale = m; }
  const tol = 1e-5 * scale + 1e-30;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!(Math.abs(x - y) <= tol)) return false;
  }
  return true;
}

/** x's elements in order: its storage when that is exactly them, else a copy. */
const dense = (be: Backend, x: Tensor): TypedArray =>
  x.offset === 0 && x.data.length === x.size && x.isContiguous() ? x.data : copyOf(be, x).data;

/**
 * The second call of a signature: run it eagerly (traced again), then replay the first plan on the same
 * arguments from the same starting state and compare everything it produces. A difference means the function
 * computes something outside the kernels (JavaScript on values that compile did not hear about).
 */
function verify(fn: Run, plan: Plan, args: unknown[]): { result: unknown; problem: string | null } {
  const be = plan.be;
  const start = plan.externalWrites.map((a) => a.slice());
  const randomStart = plan.generators.map((g) => g.getState());
  const second = trace(fn, args);
  if (second.reason || !second.plan) return { result: second.result, problem: second.reason ?? 'the second call could not be traced' };
  const p2 = second.plan;
  const after = plan.externalWrites.map((a) => a.slice());
  const randomAfter = plan.generators.map((g) => g.getState());
  plan.externalWrites.forEach((a, i) => a.set(start[i]!));
  plan.generators.forEach((g, i) => g.setState(randomStart[i]!)); // the replay draws what the eager run drew
  const written2 = writtenArrays(p2.steps);
  let problem: string | null = null;
  try {
    if (replay(plan, args, false) === FALLBACK) problem = 'a check in the recorded step failed on replay where the eager run passed';
  } catch (e) {
    problem = `the replay failed: ${(e as Error).message}`;
  }
  if (!problem) {
    if (plan.outputs.length !== p2.outputs.length) problem = 'the function returned a different number of tensors';
    plan.outputs.forEach((o, i) => {
      if (!problem && !close(dense(be, o), dense(be, p2.outputs[i]!))) problem = `output ${i} (shape ${fmt(o.shape)}) of a replay differs from an eager run`;
    });
    for (const [x, g] of plan.grads) {
      const g2 = p2.grads.get(x);
      if (!problem && (!g2 || !close(dense(be, g), dense(be, g2)))) problem = `the gradient of a tensor of shape ${fmt(x.shape)} from a replay differs from an eager run`;
    }
    if (!problem && p2.grads.size !== plan.grads.size) problem = 'the eager run set gradients the recorded step does not';
    plan.externalWrites.forEach((a, i) => {
      if (!problem && written2.has(a) && !close(a, after[i]!)) problem = `a replay wrote a buffer of ${a.length} elements outside the step differently from an eager run`;
    });
  }
  plan.externalWrites.forEach((a, i) => a.set(after[i]!)); // leave the state of the eager run
  plan.generators.forEach((g, i) => g.setState(randomAfter[i]!));
  // storage the first trace made without the allocator (new Float64Array…) looked external; what the second run
  // did not write too was the first run's own
  if (!problem) Object.assign(plan, externalWritesOf(plan.steps, (a) => plan.externalWrites.includes(a) && written2.has(a)));
  return { result: second.result, problem: problem && `${problem}; the function probably computes on tensor values in JavaScript` };
}
