/**
 * A seeded random generator (xoshiro128**), so every random result is reproducible.
 * `manualSeed(n)` reseeds the default generator; a `Generator` can be passed to any random op.
 */
import { traceHooks } from './trace.js';

export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0x2545f491) {
    this.manualSeed(seed);
  }

  /** Reseed from an integer (splitmix32 expands it to the 128-bit state). */
  manualSeed(seed: number): this {
    let x = (Math.floor(seed) >>> 0) ^ Math.floor(seed / 0x100000000);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
    this.spare = null;
    return this;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    traceHooks()?.drew(this);
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box–Muller, the second value is kept for the next call). */
  normal(): number {
    if (this.spare !== null) { const v = this.spare; this.spare = null; return v; }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  /**
   * Shuffle arr in place (Fisher–Yates from the end), drawing exactly as arr.length − 1 calls of randint(0, i + 1)
   * would, with the state in locals: one loop, which V8 optimizes within a few hundred iterations (randperm(60000)
   * took 16 ms cold through randint, whose callees each wait for their own optimization).
   */
  shuffle(arr: Int32Array): void {
    if (arr.length < 2) return;
    traceHooks()?.drew(this);
    const s = this.s;
    // int32 locals (the same bits as the uint32 state; rotations without the final >>> 0) keep V8 on integer code
    let s0 = s[0]! | 0, s1 = s[1]! | 0, s2 = s[2]! | 0, s3 = s[3]! | 0;
    for (let i = arr.length - 1; i > 0; i--) {
      // two steps of nextUint32, combined as random() does
      let x = Math.imul(s1, 5);
      const hi = Math.imul((x << 7) | (x >>> 25), 9) >>> 5;
      let t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      x = Math.imul(s1, 5);
      const lo = Math.imul((x << 7) | (x >>> 25), 9) >>> 6;
      t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      const j = Math.floor(((hi * 67108864 + lo) / 9007199254740992) * (i + 1));
      const v = arr[i]!; arr[i] = arr[j]!; arr[j] = v;
    }
    s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
  }

  /** The full state, for checkpoints. */
  getState(): number[] {
    return [...this.s, this.spare === null ? NaN : this.spare];
  }

  setState(state: readonly number[]): this {
    if (state.length !== 5) throw new Error(`Generator.setState: expected 5 numbers, got ${state.length}`);
    for (let i = 0; i < 4; i++) this.s[i] = state[i]! >>> 0;
    this.spare = Number.isNaN(state[4]!) ? null : state[4]!;
    return this;
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** The generator random ops use when none is passed. */
export const defaultGenerator = new Generator();

/** Reseed the default generator (torch.manual_seed). */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
