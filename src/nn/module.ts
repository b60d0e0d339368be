/**
 * nn.Module: the base class of every layer and model.
 *
 * Parameters, sub-modules and arrays of either are discovered by walking the module's own
 * enumerable fields in the order they were created, so assigning them in the constructor is all
 * it takes to register them (PyTorch's `__setattr__` magic, done by reflection). Buffers are
 * declared with {@link Module.registerBuffer}.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { copy_, detach, to } from '../ops/shape.js';
import { type DType, isFloat } from '../tensor/dtype.js';
import { fmt, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter } from './parameter.js';
import { traceModeFlip, traceStateChanged } from '../tensor/trace.js';

/** A state dict: PyTorch's keys (`fc1.weight`, `0.bias`, `bn.running_mean`) mapped to tensors, in order. */
export type StateDict = Record<string, Tensor>;

/** What {@link Module.loadStateDict} reports (PyTorch's `_IncompatibleKeys`). */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

type Entry =
  | { kind: 'param'; name: string; value: Parameter }
  | { kind: 'module'; name: string; value: Module };

const isModuleArray = (v: unknown): v is Module[] => Array.isArray(v) && v.length > 0 && v.every((m) => m instanceof Module);
const isParamArray = (v: unknown): v is Parameter[] => Array.isArray(v) && v.length > 0 && v.every((p) => p instanceof Parameter);

/**
 * Base class of layers and models (torch.nn.Module). Assign parameters, sub-modules and arrays of
 * them as ordinary fields; they are registered in the order the fields were created, which gives
 * PyTorch's state-dict keys. Fields that hold other values (numbers, plain tensors, `#private`
 * fields) are not registered.
 *
 * @example
 * class Net extends nn.Module {
 *   fc1 = new nn.Linear(784, 100);
 *   fc2 = new nn.Linear(100, 10);
 *   override forward(x: Tensor): Tensor {
 *     return this.fc2.call(this.fc1.call(x.flatten(1)).relu());
 *   }
 * }
 * const net = new Net();
 * Object.keys(net.stateDict()); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 */
export abstract class Module {
  #training = true;
  /** Random id: compile keys its plans by the ids of the modules in eval mode. */
  readonly #modeId = (Math.random() * 0x100000000) >>> 0 || 1;
  /** Training mode (true) or evaluation mode (false); switched by {@link train} and {@link eval}. */
  get training(): boolean {
    return this.#training;
  }
  set training(mode: boolean) {
    if (mode !== this.#training) traceModeFlip(this.#modeId); // compiled steps recorded in the other mode are not replayed
    this.#training = mode;
  }
  /** Buffer names → persistent (part of the state dict). Private fields are not enumerable. */
  readonly #buffers = new Map<string, boolean>();

  /**
   * The computation. Subclasses override it with their own signature, e.g.
   * `override forward(x: Tensor): Tensor`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...args: any[]): any;

  /** Run the module: `model.call(x)` is `model.forward(x)` (PyTorch's `model(x)`). */
  call<A extends unknown[], R>(this: { forward(...args: A): R }, ...args: A): R {
    return this.forward(...args);
  }

  // ------------------------------------------------------------------ registration

  /** Own parameters and sub-modules, in field order (arrays expand to `name.0`, `name.1`, ...). */
  #entries(): Entry[] {
    const out: Entry[] = [];
    for (const name of Object.keys(this)) {
      if (this.#buffers.has(name)) continue;
      const v = (this as Record<string, unknown>)[name];
      if (v instanceof Parameter) out.push({ kind: 'param', name, value: v });
      else if (v instanceof Module) out.push({ kind: 'module', name, value: v });
      else if (isParamArray(v)) v.forEach((p, i) => out.push({ kind: 'param', name: `${name}.${i}`, value: p }));
      else if (isModuleArray(v)) v.forEach((m, i) => out.push({ kind: 'module', name: `${name}.${i}`, value: m }));
    }
    return out;
  }

  /**
   * Declare a tensor that is state but not a parameter (as `running_mean` of batch norm). It is
   * stored as the field `name`, moved by `to()`, and saved in `stateDict()` when `persistent`.
   * A null buffer is allowed (and skipped) until a tensor is assigned to the field.
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw new Error(`registerBuffer: invalid buffer name '${name}' (non-empty, no '.')`);
    const current = (this as Record<string, unknown>)[name];
    if (!this.#buffers.has(name) && (current instanceof Parameter || current instanceof Module)) {
      throw new Error(`registerBuffer: '${name}' is already a ${current instanceof Parameter ? 'parameter' : 'sub-module'} of ${this.constructor.name}`);
    }
    if (tensor !== null && !(tensor instanceof Tensor)) throw new TypeError(`registerBuffer: '${name}' must be a Tensor or null`);
    if (tensor instanceof Parameter) throw new TypeError(`registerBuffer: '${name}' is a Parameter; assign it as a field instead`);
    this.#buffers.set(name, persistent);
    (this as Record<string, unknown>)[name] = tensor;
  }

  /** Assign a parameter (or null) as the field `name`, as PyTorch's `register_parameter`. */
  registerParameter(name: string, param: Parameter | null): void {
    if (param !== null && !(param instanceof Parameter)) throw new TypeError(`registerParameter: '${name}' must be an nn.Parameter or null`);
    if (this.#buffers.has(name)) throw new Error(`registerParameter: '${name}' is already a buffer of ${this.constructor.name}`);
    (this as Record<string, unknown>)[name] = param;
  }

  /** Assign a sub-module as the field `name`, as PyTorch's `register_module` / `add_module`. */
  registerModule(name: string, module: Module | null): void {
    if (module !== null && !(module instanceof Module)) throw new TypeError(`registerModule: '${name}' must be an nn.Module or null`);
    if (this.#buffers.has(name)) throw new Error(`registerModule: '${name}' is already a buffer of ${this.constructor.name}`);
    (this as Record<string, unknown>)[name] = module;
  }

  #ownBuffers(persistentOnly: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, persistent] of this.#buffers) {
      const v = (this as Record<string, unknown>)[name];
      if (v instanceof Tensor && (persistent || !persistentOnly)) out.push([name, v]);
    }
    return out;
  }

  // ------------------------------------------------------------------ traversal

  /** Direct sub-modules with their names (a module assigned twice is listed once). */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    for (const e of this.#entries()) {
      if (e.kind === 'module' && !seen.has(e.value)) { seen.add(e.value); out.push([e.name, e.value]); }
    }
    return out;
  }

  /** Direct sub-modules. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all below it, depth first, with dotted names ('' for this one); each module once. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [n, c] of m.namedChildren()) visit(c, name ? `${name}.${n}` : n);
    };
    visit(this, prefix);
    return out;
  }

  /** This module and all below it. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** All parameters with PyTorch's dotted names (`fc1.weight`, `0.bias`); each shared one once. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const e of m.#entries()) {
        if (e.kind === 'param' && !seen.has(e.value)) { seen.add(e.value); out.push([mp ? `${mp}.${e.name}` : e.name, e.value]); }
      }
    }
    return out;
  }

  /** All parameters (what an optimizer takes). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** All buffers (persistent or not) with dotted names. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, b] of m.#ownBuffers(false)) out.push([mp ? `${mp}.${n}` : n, b]);
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Call fn on every sub-module (children first) and then on this one; returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ------------------------------------------------------------------ modes and gradients

  /** Set training mode on this module and all below it (affects Dropout, BatchNorm); returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`train: mode must be a boolean, got ${typeof mode}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Reset every parameter's gradient to null (PyTorch's `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Turn gradient tracking of every parameter on or off (freezing); returns this. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  // ------------------------------------------------------------------ dtype

  /**
   * Convert floating-point parameters and buffers to `dtype` (replacing them by converted copies,
   * so create optimizers after this call). Returns this.
   */
  to(dtype: DType): this {
    if (!isFloat(dtype)) throw new Error(`to: modules can only be converted to a floating-point dtype, got ${dtype}`);
    for (const m of this.modules()) m.#convert(dtype);
    return this;
  }

  /** Parameters and buffers to float64. */
  double(): this { return this.to('float64'); }
  /** Parameters and buffers to float32. */
  float(): this { return this.to('float32'); }

  #convert(dtype: DType): void {
    traceStateChanged(); // new parameter tensors: plans recorded on the old ones are stale
    const self = this as Record<string, unknown>;
    const conv = (p: Parameter): Parameter => (p.dtype === dtype ? p : new Parameter(noGrad(() => to(p, dtype)), p.requiresGrad));
    for (const name of Object.keys(this)) {
      const v = self[name];
      if (this.#buffers.has(name)) {
        if (v instanceof Tensor && isFloat(v.dtype) && v.dtype !== dtype) self[name] = noGrad(() => to(v, dtype));
      } else if (v instanceof Parameter) self[name] = conv(v);
      else if (isParamArray(v)) v.forEach((p, i) => { v[i] = conv(p); });
    }
  }

  // ------------------------------------------------------------------ state dict

  /**
   * Parameters and persistent buffers under PyTorch's keys, in PyTorch's order (each module's own
   * parameters, then its buffers, then its children), detached and sharing storage with the model.
   */
  stateDict(prefix = ''): StateDict {
    const out: StateDict = {};
    this.#saveTo(out, prefix);
    return out;
  }

  /** A module shared under two names is saved under both, as PyTorch does. */
  #saveTo(out: StateDict, prefix: string): void {
    const entries = this.#entries();
    for (const e of entries) if (e.kind === 'param') out[prefix + e.name] = detach(e.value);
    for (const [n, b] of this.#ownBuffers(true)) out[prefix + n] = detach(b);
    for (const e of entries) if (e.kind === 'module') e.value.#saveTo(out, `${prefix}${e.name}.`);
  }

  /**
   * Copy values from a state dict into this module's existing parameters and buffers (in place,
   * converting dtypes). A shape mismatch throws naming the key and both shapes. With `strict`
   * (the default), missing or unexpected keys throw too; otherwise they are returned.
   * Everything is checked before anything is written, so a failed load leaves the module as it was.
   */
  loadStateDict(dict: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    if (dict === null || typeof dict !== 'object') throw new TypeError('loadStateDict: expected an object mapping keys to tensors');
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in dict));
    const unexpectedKeys = Object.keys(dict).filter((k) => !(k in own));
    const name = this.constructor.name;
    for (const [k, dst] of Object.entries(own)) {
      if (!(k in dict)) continue;
      const src = dict[k];
      if (!(src instanceof Tensor)) throw new TypeError(`loadStateDict: value of '${k}' for ${name} is not a Tensor`);
      if (!shapesEqual(src.shape, dst.shape)) {
        throw new Error(`loadStateDict: size mismatch for '${k}' in ${name}: the checkpoint has shape ${fmt(src.shape)}, the model has ${fmt(dst.shape)}`);
      }
    }
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      const parts: string[] = [];
      if (missingKeys.length) parts.push(`missing key(s): ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected key(s): ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
      throw new Error(`loadStateDict: error(s) loading the state dict for ${name}: ${parts.join('; ')} (pass { strict: false } to ignore)`);
    }
    noGrad(() => {
      for (const [k, dst] of Object.entries(own)) if (k in dict) copy_(dst, dict[k]!);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ------------------------------------------------------------------ printing

  /** The text inside the parentheses of this module's repr (PyTorch's `extra_repr`). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's module repr: `Sequential(\n  (0): Linear(in_features=784, out_features=100, bias=True)\n ...)`. */
  toString(): string {
    const extra = this.extraRepr();
    const lines = extra ? extra.split('\n') : [];
    let children = 0;
    for (const e of this.#entries()) {
      if (e.kind !== 'module') continue;
      lines.push(`(${e.name}): ${e.value.toString().split('\n').join('\n  ')}`);
      children++;
    }
    const head = this.constructor.name;
    if (!lines.length) return `${head}()`;
    if (lines.length === 1 && !children) return `${head}(${lines[0]})`;
    return `${head}(\n  ${lines.join('\n  ')}\n)`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
