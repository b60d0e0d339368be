/**
 * Hooks through which a running trace (src/autograd/compile.ts) hears about what it cannot see in the kernel
 * calls it records: JavaScript that reads tensor values, random draws, and storage allocated while tracing.
 * They live up here so that every layer below compile can report to it; with no trace running each is one
 * null check.
 */
import type { DType, TypedArray } from './dtype.js';

export interface TraceHooks {
  /** Zero-filled storage allocated while tracing: the recorded plan's own (in the backend's memory when it has some). */
  allocate(dtype: DType, size: number): TypedArray;
  /** JavaScript read tensor values (item, dataSync, …) or did something else a replay could not repeat. */
  unsupported(what: string): void;
  /** Run `fn` now, unrecorded, and again at this point of every replay (see hostStep); `reads` as there. */
  hostStep(fn: () => void, reads?: readonly TypedArray[]): void;
  /** A random generator drew numbers (replayable inside a hostStep: the replay draws again). */
  drew(generator: RandomState): void;
}

/** What compile needs of a random generator: its state, to rewind it while checking a plan. */
export interface RandomState {
  getState(): number[];
  setState(state: readonly number[]): unknown;
}

let hooks: TraceHooks | null = null;

/** The running trace's hooks, or null. */
export function traceHooks(): TraceHooks | null {
  return hooks;
}

/** Install (or with null remove) the hooks of a trace; returns the previous ones. */
export function setTraceHooks(h: TraceHooks | null): TraceHooks | null {
  const prev = hooks;
  hooks = h;
  return prev;
}

/** Tell a running trace that JavaScript depends on tensor values here (no-op when none runs). */
export function noteUnsupported(what: string): void {
  hooks?.unsupported(what);
}

/**
 * Work that JavaScript does on tensor values between kernels and that a compiled step must repeat every time:
 * argument checks that read data (index ranges, target classes) and small host-side arithmetic on kernel
 * results (batch-norm's per-channel scale). `fn` runs now; when a trace is recording, it runs again at the same
 * point of each replay, on the same (refilled) buffers. Kernel calls inside `fn` are not recorded.
 * `reads` lists the storage whose values `fn` reads, when known (none: `[]`): a compiled step may then read its
 * other arguments in place from the caller's tensors instead of copying them first. Omitted: `fn` may read anything.
 */
export function hostStep(fn: () => void, reads?: readonly TypedArray[]): void {
  if (hooks) hooks.hostStep(fn, reads);
  else fn();
}

let stateVersion = 0;
let modeHash = 0;

/** JavaScript state that decides which kernels a function runs was replaced (a module's parameters converted): recorded plans are stale. */
export function traceStateChanged(): void {
  stateVersion++;
}

/** A module with this random id switched between train and eval mode (the key holds the XOR of the ids in eval mode). */
export function traceModeFlip(id: number): void {
  modeHash = (modeHash ^ id) >>> 0;
}

/** Part of a compiled function's cache key: the same after train() → eval() → train(). */
export function traceStateKey(): string {
  return `${stateVersion}:${modeHash}`;
}
