/** Containers: nn.Sequential and nn.ModuleList, whose children are keyed '0', '1', ... */
import type { Tensor } from '../tensor/tensor.js';
import { ReLU } from './activation.js';
import { Module } from './module.js';
import { MaxPool2d } from './pooling.js';

function checkModule(m: unknown, owner: string, i: number | string): asserts m is Module {
  if (!(m instanceof Module)) throw new TypeError(`${owner}: entry ${i} is not a Module (got ${m === null ? 'null' : typeof m})`);
}

/**
 * The modules held in own fields, in key order (integer keys '0', '1', ... come first in a JS
 * object's key order). Not deduplicated: a module listed twice runs twice.
 */
function entries(self: Module): Module[] {
  const rec = self as unknown as Record<string, unknown>;
  return Object.keys(rec).map((k) => rec[k]).filter((m): m is Module => m instanceof Module);
}

/**
 * Runs its modules in order, each on the previous one's output (torch.nn.Sequential).
 * Children are keyed '0', '1', ..., so `stateDict()` has PyTorch's keys (`0.weight`, `2.bias`).
 * Pass a plain object `{ fc1: ..., act: ... }` instead to name the children.
 *
 * @example
 * const model = new nn.Sequential(new nn.Linear(784, 100), new nn.Sigmoid(), new nn.Linear(100, 10));
 * const y = model.call(x);
 */
export class Sequential extends Module {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const self = this as unknown as Record<string, unknown>;
    const first = modules[0];
    if (modules.length === 1 && first !== null && typeof first === 'object' && !(first instanceof Module)) {
      for (const [name, m] of Object.entries(first)) {
        checkModule(m, 'Sequential', name);
        if (name in this) throw new Error(`Sequential: the name '${name}' is reserved`);
        self[name] = m;
      }
    } else {
      (modules as unknown[]).forEach((m, i) => { checkModule(m, 'Sequential', i); self[String(i)] = m; });
    }
  }

  /** Number of modules. */
  get length(): number {
    return entries(this).length;
  }

  /** The i-th module (negative i counts from the end). */
  at(i: number): Module {
    const list = entries(this);
    const k = i < 0 ? i + list.length : i;
    if (!Number.isInteger(i) || k < 0 || k >= list.length) throw new Error(`Sequential.at: index ${i} is out of range for ${list.length} modules`);
    return list[k]!;
  }

  /** Append a module at the end (key = current length); returns this. */
  append(m: Module): this {
    checkModule(m, 'Sequential.append', this.length);
    (this as unknown as Record<string, unknown>)[String(this.length)] = m;
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return entries(this)[Symbol.iterator]();
  }

  /**
   * Each module's forward on the previous one's output. A ReLU directly followed by a MaxPool2d runs as max-pool
   * then ReLU: max(relu(x)) = relu(max(x)) exactly, since ReLU is monotonic, and the gradients agree too (a
   * window whose maximum is ≤ 0 passes no gradient either way); the ReLU then touches a tensor a quarter the size
   * (for 2×2 pooling), forward and backward.
   */
  override forward(input: Tensor): Tensor {
    const list = entries(this);
    let x = input;
    for (let i = 0; i < list.length; i++) {
      const m = list[i]!, next = list[i + 1];
      if (next && (m.constructor as unknown) === ReLU && (next.constructor as unknown) === MaxPool2d) {
        x = m.forward(next.forward(x));
        i++;
      } else x = m.forward(x);
    }
    return x;
  }
}

/**
 * A list of modules that are registered as children '0', '1', ... (torch.nn.ModuleList). It has no
 * forward of its own: iterate over it in the owner's forward. A plain array field of modules is
 * registered the same way.
 */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number {
    return entries(this).length;
  }

  at(i: number): Module {
    const list = entries(this);
    const k = i < 0 ? i + list.length : i;
    if (!Number.isInteger(i) || k < 0 || k >= list.length) throw new Error(`ModuleList.at: index ${i} is out of range for ${list.length} modules`);
    return list[k]!;
  }

  append(m: Module): this {
    const n = entries(this).length;
    checkModule(m, 'ModuleList.append', n);
    (this as unknown as Record<string, unknown>)[String(n)] = m;
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return entries(this)[Symbol.iterator]();
  }

  override forward(): never {
    throw new Error('ModuleList: has no forward(); iterate over its modules in the owner\'s forward');
  }
}

