/**
 * The Optimizer base class: parameter groups, per-parameter state, zeroGrad and state dicts with
 * PyTorch's structure.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { clone, to } from '../ops/shape.js';
import { fmt, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { noteUnsupported } from '../tensor/trace.js';

/**
 * Per-parameter optimizer state (PyTorch's names: `step`, `momentum_buffer`, `exp_avg`, `exp_avg_sq`, ...).
 * null stands for PyTorch's None (SGD without momentum keeps `momentum_buffer: null`).
 */
export type ParamState = Record<string, Tensor | number | null>;

/** A group of parameters sharing options; `lr` and the optimizer's options are filled from its defaults. */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [option: string]: unknown;
}

/** What an optimizer's constructor takes for a group: `lr` and any option may be left to the defaults. */
export type ParamGroupInput<O> = { params: Iterable<Tensor> } & Partial<O>;

/** Either a list of parameters (one group) or a list of groups. */
export type ParamsInput<O> = Iterable<Tensor> | readonly ParamGroupInput<O>[];

/**
 * An optimizer's state dict, with PyTorch's structure (`torch.optim.Optimizer.state_dict()`),
 * keys camelCased only at the top level:
 *
 * ```
 * {
 *   state: {                           // keyed by the parameter's index over all groups, in order;
 *     0: { momentum_buffer: Tensor },  //   SGD (momentum_buffer: null without momentum)
 *     1: { step: 3, exp_avg: Tensor, exp_avg_sq: Tensor, max_exp_avg_sq?: Tensor },   // Adam/AdamW
 *     2: { step: 3, square_avg: Tensor, momentum_buffer?: Tensor, grad_avg?: Tensor }, // RMSprop
 *   },                                 // parameters that never had a gradient have no entry
 *   paramGroups: [{ lr: 0.1, momentum: 0.9, ..., params: [0, 1] }],  // options as numbers/booleans,
 * }                                    // params replaced by their indices
 * ```
 * Values are tensors (cloned, so the dict is a snapshot), plain numbers (`step`), booleans, number
 * pairs (`betas`) and null: a checkpoint can serialise the tensors by key path and the rest as JSON.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

export abstract class Optimizer<O extends { lr: number } = { lr: number }> {
  /** Groups of parameters, each with its options (`lr`, `momentum`, ...). Schedulers change `lr` here. */
  readonly paramGroups: (ParamGroup & O)[] = [];
  /** Per-parameter state, created on a parameter's first step. */
  readonly state = new Map<Tensor, ParamState>();
  /** Option defaults for groups that do not set them. */
  readonly defaults: O;

  protected constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = defaults;
    const name = this.constructor.name;
    if (params instanceof Tensor) throw new TypeError(`${name}: params must be an array of tensors (e.g. model.parameters()), got a single Tensor`);
    if (params == null || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${name}: params must be an array of tensors or of parameter groups, got ${params === null ? 'null' : typeof params}`);
    }
    const list = [...(params as Iterable<unknown>)];
    if (!list.length) throw new Error(`${name}: got an empty parameter list`);
    if (list.every((p) => p instanceof Tensor)) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
    else for (const g of list) this.addParamGroup(g as ParamGroupInput<O>);
  }

  /** Add a group (as when fine-tuning a new head); missing options come from the defaults. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const name = this.constructor.name;
    if (group === null || typeof group !== 'object' || !('params' in group)) throw new TypeError(`${name}: a parameter group must be an object with 'params'`);
    const params = group.params instanceof Tensor ? [group.params] : [...group.params];
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: parameter ${i} of a group is not a Tensor`);
      if (!p.isLeaf) throw new Error(`${name}: can't optimize a non-leaf tensor (parameter ${i}, shape ${fmt(p.shape)})`);
      if (!p.isFloatingPoint) throw new Error(`${name}: can only optimize floating-point tensors, parameter ${i} is ${p.dtype}`);
    });
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    if (new Set(params).size !== params.length || params.some((p) => seen.has(p))) {
      throw new Error(`${name}: some parameters appear in more than one parameter group (or twice in one)`);
    }
    const merged = { ...this.defaults, ...group, params } as ParamGroup & O;
    for (const k of Object.keys(this.defaults) as (keyof O & string)[]) if (merged[k] === undefined) (merged as Record<string, unknown>)[k] = this.defaults[k];
    this.validate(merged);
    this.paramGroups.push(merged);
  }

  /** Check a group's options; throws naming the option and its value. */
  protected validate(group: ParamGroup & O): void {
    if (!(typeof group.lr === 'number' && group.lr >= 0)) throw new Error(`${this.constructor.name}: invalid learning rate: ${String(group.lr)}`);
  }

  /** Reset the gradients of all optimized parameters to null (PyTorch's `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    noteUnsupported('optimizer.zeroGrad()');
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** One update of every parameter that has a gradient, under noGrad, in the parameter's own storage. */
  step(): void {
    noteUnsupported('optimizer.step()'); // its learning rate and step count change between calls
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (p.grad === null) continue;
          if (!shapesEqual(p.grad.shape, p.shape)) throw new Error(`${this.constructor.name}.step: gradient ${fmt(p.grad.shape)} does not match parameter ${fmt(p.shape)}`);
          let s = this.state.get(p);
          if (!s) { s = {}; this.state.set(p, s); }
          this.update(p, p.grad, s, group);
        }
      }
    });
  }

  /** The update of one parameter: write p's new value into p, keep state in `state`. */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup & O): void;

  /** A snapshot with PyTorch's structure; see {@link OptimizerStateDict}. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...options } = g;
      return { ...options, params: params.map((p) => { const i = index.size; index.set(p, i); return i; }) };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      state[i] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Tensor ? noGrad(() => clone(v)) : v]));
    }
    return { state, paramGroups };
  }

  /**
   * Restore a state dict from {@link stateDict} (for the same parameters, in the same order): group
   * options are replaced and state tensors are copied and converted to their parameter's dtype.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (!dict || typeof dict !== 'object' || !Array.isArray(dict.paramGroups) || typeof dict.state !== 'object') {
      throw new TypeError(`${name}.loadStateDict: expected { state, paramGroups }`);
    }
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: the state dict has ${dict.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    dict.paramGroups.forEach((saved, gi) => {
      const own = this.paramGroups[gi]!;
      if (!Array.isArray(saved.params) || saved.params.length !== own.params.length) {
        throw new Error(`${name}.loadStateDict: group ${gi} has ${saved.params?.length} parameters in the state dict, ${own.params.length} in the optimizer`);
      }
      saved.params.forEach((idx, k) => byIndex.set(idx, own.params[k]!));
    });
    const newState = new Map<Tensor, ParamState>();
    for (const [key, s] of Object.entries(dict.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter index ${key}, which no group lists`);
      newState.set(p, Object.fromEntries(Object.entries(s).map(([k, v]) => {
        if (!(v instanceof Tensor)) return [k, v];
        if (k === 'step') return [k, v.item()]; // PyTorch ≥ 1.12 keeps step as a tensor
        if (k !== 'step' && !shapesEqual(v.shape, p.shape)) throw new Error(`${name}.loadStateDict: state '${k}' of parameter ${key} has shape ${fmt(v.shape)}, the parameter has ${fmt(p.shape)}`);
        return [k, noGrad(() => clone(v.isFloatingPoint ? to(v, p.dtype) : v))];
      })));
    }
    dict.paramGroups.forEach((saved, gi) => {
      const own = this.paramGroups[gi]!;
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') (own as Record<string, unknown>)[k] = v;
    });
    this.state.clear();
    for (const [p, s] of newState) this.state.set(p, s);
  }
}
