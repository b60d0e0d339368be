/**
 * Training checkpoints as one safetensors file:
 * - `model.<key>`: the model's state dict (PyTorch keys; strip `model.` to load it anywhere),
 * - `optimizer.<path>`: every tensor of the optimizer's state dict (`optimizer.state.0.momentum_buffer`),
 * - `__metadata__`: `nabla.checkpoint` = JSON with the epoch, the rest of the optimizer state (tensors
 *   replaced by `{ "$tensor": name }`), the generator states and free-form `extra` data.
 * Written atomically (temporary file, fsync, rename), so a crash never leaves a broken checkpoint.
 */
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { loadFileWithMetadata, saveFile } from '../io/safetensors.js';

const FORMAT = 'nabla.checkpoint';
const VERSION = 1;

export interface StateDictHolder {
  stateDict(): Record<string, Tensor>;
  loadStateDict(dict: Record<string, Tensor>, opts?: { strict?: boolean }): unknown;
}

export interface OptimizerStateHolder {
  stateDict(): unknown;
  loadStateDict(state: never): unknown;
}

export interface CheckpointContents {
  model: StateDictHolder;
  optimizer?: OptimizerStateHolder;
  /** Number of completed epochs. */
  epoch: number;
  /** Generators whose state must survive (the DataLoader's shuffling generator, the global one, ...). */
  generators?: Record<string, Generator>;
  /** Anything JSON-serialisable (e.g. the command-line configuration), returned as is by loadCheckpoint. */
  extra?: unknown;
}

export interface LoadedCheckpoint {
  epoch: number;
  modelState: Record<string, Tensor>;
  optimizerState: unknown;
  generatorStates: Record<string, number[]>;
  extra: unknown;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Replace tensors by references (collected in `tensors`) and non-finite numbers by tagged strings. */
function encode(value: unknown, path: string, tensors: Record<string, Tensor>): Json {
  if (value instanceof Tensor) {
    tensors[path] = value;
    return { $tensor: path };
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $number: String(value) };
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map((v, i) => encode(v, `${path}.${i}`, tensors));
  if (typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k.startsWith('$')) throw new Error(`saveCheckpoint: optimizer state key '${k}' may not start with '$'`);
      out[k] = encode(v, `${path}.${k}`, tensors);
    }
    return out;
  }
  throw new Error(`saveCheckpoint: cannot store a ${typeof value} at ${path}`);
}

function decode(value: Json, tensors: Record<string, Tensor>, file: string): unknown {
  if (Array.isArray(value)) return value.map((v) => decode(v, tensors, file));
  if (value !== null && typeof value === 'object') {
    if (typeof value.$tensor === 'string') {
      const t = tensors[value.$tensor];
      if (!t) throw new Error(`checkpoint ${file}: the optimizer state refers to tensor '${value.$tensor}', which the file lacks`);
      return t;
    }
    if (typeof value.$number === 'string') return Number(value.$number);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = decode(v, tensors, file);
    return out;
  }
  return value;
}

/** Write a checkpoint to `path` (atomically). */
export function saveCheckpoint(path: string, c: CheckpointContents): void {
  if (!Number.isInteger(c.epoch) || c.epoch < 0) throw new Error(`saveCheckpoint: epoch must be a non-negative integer, got ${c.epoch}`);
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(c.model.stateDict())) tensors[`model.${k}`] = t;
  const optimizer = c.optimizer ? encode(c.optimizer.stateDict(), 'optimizer', tensors) : null;
  const generators: Record<string, Json> = {};
  for (const [name, g] of Object.entries(c.generators ?? {})) generators[name] = encode(g.getState(), '', {});
  const meta = { format: FORMAT, version: VERSION, epoch: c.epoch, optimizer, generators, extra: encode(c.extra ?? null, 'extra', {}) };
  saveFile(tensors, path, { [FORMAT]: JSON.stringify(meta), format: 'pt' });
}

export interface RestoreTargets {
  model?: StateDictHolder;
  optimizer?: OptimizerStateHolder;
  /** Generators to set to their saved states, by the names used when saving. */
  generators?: Record<string, Generator>;
  /** Strict model state-dict loading (default true). */
  strict?: boolean;
}

/** Read a checkpoint; with `into`, also restore the model, optimizer and generators from it. */
export function loadCheckpoint(path: string, into: RestoreTargets = {}): LoadedCheckpoint {
  const loaded = readCheckpoint(path);
  restoreCheckpoint(loaded, into, path);
  return loaded;
}

/** Read a checkpoint without restoring anything. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  const { tensors, metadata } = loadFileWithMetadata(path);
  const raw = metadata[FORMAT];
  if (raw === undefined) throw new Error(`checkpoint ${path}: not a nabla checkpoint (no '${FORMAT}' metadata); it may be a plain weights file, load it with io.loadFile`);
  let meta: { format?: unknown; version?: unknown; epoch?: unknown; optimizer?: Json; generators?: Record<string, Json>; extra?: Json };
  try {
    meta = JSON.parse(raw);
  } catch (e) {
    throw new Error(`checkpoint ${path}: the '${FORMAT}' metadata is not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== FORMAT || meta.version !== VERSION) throw new Error(`checkpoint ${path}: unsupported checkpoint format ${String(meta.format)} version ${String(meta.version)}`);
  if (!Number.isInteger(meta.epoch)) throw new Error(`checkpoint ${path}: epoch is missing or not an integer`);
  const modelState: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) modelState[k.slice(6)] = t;
  const optimizerState = meta.optimizer == null ? null : decode(meta.optimizer, tensors, path);
  const generatorStates: Record<string, number[]> = {};
  for (const [name, s] of Object.entries(meta.generators ?? {})) generatorStates[name] = decode(s, {}, path) as number[];
  return { epoch: meta.epoch as number, modelState, optimizerState, generatorStates, extra: decode(meta.extra ?? null, {}, path) };
}

/** Restore a model, optimizer and generators from a checkpoint that was read; `path` is for messages. */
export function restoreCheckpoint(loaded: LoadedCheckpoint, into: RestoreTargets, path = 'checkpoint'): void {
  const { modelState, optimizerState, generatorStates } = loaded;
  if (into.model) into.model.loadStateDict(modelState, { strict: into.strict ?? true });
  if (into.optimizer) {
    if (optimizerState === null) throw new Error(`checkpoint ${path}: has no optimizer state to restore`);
    into.optimizer.loadStateDict(optimizerState as never);
  }
  for (const [name, g] of Object.entries(into.generators ?? {})) {
    const s = generatorStates[name];
    if (!s) throw new Error(`checkpoint ${path}: has no state for generator '${name}' (it has: ${Object.keys(generatorStates).join(', ') || 'none'})`);
    g.setState(s);
  }
}
