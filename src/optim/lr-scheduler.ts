/**
 * Learning-rate schedulers (torch.optim.lr_scheduler): call `scheduler.step()` once per epoch (or
 * per batch, for warm-up) after `optimizer.step()`. They use PyTorch's recursive ("chainable") rules,
 * so they give PyTorch's exact lr sequences and two schedulers on one optimizer compose as in PyTorch.
 */
import type { Optimizer } from './optimizer.js';

/** A scheduler's state dict: its options plus `lastEpoch`, `baseLrs` and `lastLr`. */
export type SchedulerStateDict = Record<string, number | number[]>;

export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** The groups' learning rates when the scheduler was created (PyTorch's `base_lrs`). */
  baseLrs: number[] = [];
  /** Number of `step()` calls so far minus one (0 right after construction). */
  lastEpoch = -1;
  protected lastLr: number[] = [];

  protected constructor(optimizer: Optimizer) {
    if (!optimizer || !Array.isArray((optimizer as Optimizer).paramGroups)) throw new TypeError(`${new.target.name}: expected an Optimizer`);
    this.optimizer = optimizer;
  }

  /** Record the initial lrs and take the initial step (call at the end of a subclass constructor). */
  protected start(lastEpoch: number): void {
    const name = this.constructor.name;
    for (const [i, g] of this.optimizer.paramGroups.entries()) {
      if (lastEpoch === -1) { if (g.initialLr === undefined) g.initialLr = g.lr; }
      else if (g.initialLr === undefined) throw new Error(`${name}: param group ${i} has no 'initialLr', which resuming (lastEpoch ${lastEpoch}) needs`);
    }
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.step();
  }

  /** The new lrs from the current ones (PyTorch's `get_lr`), for `lastEpoch` already advanced. */
  protected abstract computeLr(): number[];

  /** Advance one epoch and write the new learning rates into the optimizer's groups. */
  step(): void {
    this.lastEpoch += 1;
    const lrs = this.computeLr();
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = lrs[i]!; });
    this.lastLr = lrs;
  }

  /** The learning rates set by the last step, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected get currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Everything but the optimizer (numbers and arrays of numbers), for checkpoints. */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === 'optimizer') continue;
      out[k] = Array.isArray(v) ? [...v] : v;
    }
    return out;
  }

  loadStateDict(dict: SchedulerStateDict): void {
    for (const [k, v] of Object.entries(dict)) {
      if (k === 'optimizer' || !(k in this)) continue;
      (this as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
    }
  }
}

function positiveInt(v: unknown, owner: string, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${owner}: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** Multiply the lr by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: Optimizer, opts: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    super(optimizer);
    this.stepSize = positiveInt(opts?.stepSize, 'StepLR', 'stepSize');
    this.gamma = opts.gamma ?? 0.1;
    this.start(opts.lastEpoch ?? -1);
  }
  protected override computeLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.currentLrs;
    return this.currentLrs.map((lr) => lr * this.gamma);
  }
}

/**
 * Cosine annealing from the base lr to `etaMin` over `tMax` epochs (torch's recursive form, which
 * climbs back up after tMax): lr_t = ηmin + (lr_{t−1} − ηmin)·(1 + cos(πt/T)) / (1 + cos(π(t−1)/T)).
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(optimizer: Optimizer, opts: { tMax: number; etaMin?: number; lastEpoch?: number }) {
    super(optimizer);
    this.tMax = positiveInt(opts?.tMax, 'CosineAnnealingLR', 'tMax');
    this.etaMin = opts.etaMin ?? 0;
    this.start(opts.lastEpoch ?? -1);
  }
  protected override computeLr(): number[] {
    const t = this.lastEpoch, T = this.tMax, eta = this.etaMin;
    if (t === 0) return this.currentLrs;
    if ((t - 1 - T) % (2 * T) === 0) {
      return this.currentLrs.map((lr, i) => lr + (this.baseLrs[i]! - eta) * (1 - Math.cos(Math.PI / T)) / 2);
    }
    return this.currentLrs.map((lr) => (1 + Math.cos(Math.PI * t / T)) / (1 + Math.cos(Math.PI * (t - 1) / T)) * (lr - eta) + eta);
  }
}

/**
 * Linear warm-up: the lr factor goes from `startFactor` (default 1/3) to `endFactor` (default 1)
 * over `totalIters` steps (default 5), then stays.
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(optimizer: Optimizer, opts: { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number } = {}) {
    super(optimizer);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    positiveInt(this.totalIters, 'LinearLR', 'totalIters');
    this.start(opts.lastEpoch ?? -1);
  }
  protected override computeLr(): number[] {
    const t = this.lastEpoch, s = this.startFactor, e = this.endFactor, n = this.totalIters;
    if (t === 0) return this.currentLrs.map((lr) => lr * s);
    if (t > n) return this.currentLrs;
    return this.currentLrs.map((lr) => lr * (1 + (e - s) / (n * s + (t - 1) * (e - s))));
  }
}
