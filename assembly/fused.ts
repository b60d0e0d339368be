/**
 * Fused float32 kernels: one pass instead of a chain of ops. Each follows PyTorch's order of operations
 * (torch.optim's single-tensor SGD and Adam, log-softmax by max subtraction) so results agree to rounding.
 * Loops run whole vectors and the last, partial one through the thread's scratch block: no kernel reads or writes
 * past its operands.
 */
import { k, vexp, vlog, ONE } from './math';
import { scratch, tailIn, tailOut } from './scratch';

@inline function sp(x: f32): v128 { return f32x4.splat(x); }

const LOG_FLOOR = memory.data<f32>([-100.0]);
const BCE_EPS = memory.data<f32>([1e-12]);

/**
 * SGD step in place on p (and buf): d = ±g + wd·p; buf = first ? d : momentum·buf + (1 − dampening)·d;
 * d = nesterov ? d + momentum·buf : buf (when momentum ≠ 0); p −= lr·d.
 */
export function sgd(
  p: usize, g: usize, buf: usize, n: i32, lr: f32, momentum: f32, oneMinusDampening: f32, wd: f32,
  nesterov: i32, maximize: i32, first: i32,
): void {
  const n4 = n & ~3, r = n - n4, o = <usize>n4 << 2;
  sgdVectors(p, g, buf, o, lr, momentum, oneMinusDampening, wd, nesterov, maximize, first);
  if (r == 0) return;
  const s = scratch, withBuf = buf != 0 && momentum != 0;
  tailIn(s, p + o, r);
  tailIn(s + 16, g + o, r);
  if (withBuf) tailIn(s + 32, buf + o, r);
  sgdVectors(s, s + 16, s + 32, 16, lr, momentum, oneMinusDampening, wd, nesterov, maximize, first);
  tailOut(p + o, s, r);
  if (withBuf) tailOut(buf + o, s + 32, r);
}

@inline function sgdVectors(
  p: usize, g: usize, buf: usize, nb: usize, lr: f32, momentum: f32, oneMinusDampening: f32, wd: f32,
  nesterov: i32, maximize: i32, first: i32,
): void {
  const vlr = sp(lr), vm = sp(momentum), vd = sp(oneMinusDampening), vwd = sp(wd);
  if (momentum == 0 && wd == 0 && !maximize) {
    // plain SGD, p −= lr·g (the same operations as below): a loop without the options' tests, two vectors a turn
    // (the tests cost more than the arithmetic: 0.22 → 0.10 ns an element)
    let o: usize = 0;
    for (; o + 32 <= nb; o += 32) {
      const a = f32x4.sub(v128.load(p + o), f32x4.mul(v128.load(g + o), vlr));
      const b = f32x4.sub(v128.load(p + o + 16), f32x4.mul(v128.load(g + o + 16), vlr));
      v128.store(p + o, a);
      v128.store(p + o + 16, b);
    }
    if (o < nb) v128.store(p + o, f32x4.sub(v128.load(p + o), f32x4.mul(v128.load(g + o), vlr)));
    return;
  }
  for (let o: usize = 0; o < nb; o += 16) {
    const pv = v128.load(p + o);
    let d = v128.load(g + o);
    if (maximize) d = f32x4.neg(d);
    if (wd != 0) d = f32x4.add(d, f32x4.mul(pv, vwd));
    if (momentum != 0) {
      let b = first ? d : f32x4.add(f32x4.mul(v128.load(buf + o), vm), f32x4.mul(d, vd));
      v128.store(buf + o, b);
      d = nesterov ? f32x4.add(d, f32x4.mul(b, vm)) : b;
    }
    v128.store(p + o, f32x4.sub(pv, f32x4.mul(d, vlr)));
  }
}

/**
 * Adam / AdamW step in place on p, m, v (and vmax for AMSGrad, 0 when off):
 * g = ±g (+ wd·p unless decoupled, where p ·= 1 − lr·wd first); m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²;
 * p −= (m / (√v̂ / bc2sqrt + eps)) · stepSize with v̂ = max(vmax, v) under AMSGrad. Constants come from JS
 * (computed in float64, as the reference's scalars) so that the float32 roundings match the reference's.
 */
export function adam(
  p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32,
  beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, eps: f32, wd: f32, decayFactor: f32,
  decoupled: i32, maximize: i32, stepSize: f32, bc2sqrt: f32,
): void {
  const n4 = n & ~3, r = n - n4, o = <usize>n4 << 2;
  adamVectors(p, g, m, v, vmax, o, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, wd, decayFactor, decoupled, maximize, stepSize, bc2sqrt);
  if (r == 0) return;
  const s = scratch;
  tailIn(s, p + o, r);
  tailIn(s + 16, g + o, r);
  tailIn(s + 32, m + o, r);
  tailIn(s + 48, v + o, r);
  if (vmax != 0) tailIn(s + 64, vmax + o, r);
  adamVectors(s, s + 16, s + 32, s + 48, vmax != 0 ? s + 64 : 0, 16, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, wd, decayFactor,
    decoupled, maximize, stepSize, bc2sqrt);
  tailOut(p + o, s, r);
  tailOut(m + o, s + 32, r);
  tailOut(v + o, s + 48, r);
  if (vmax != 0) tailOut(vmax + o, s + 64, r);
}

@inline function adamVectors(
  p: usize, g: usize, m: usize, v: usize, vmax: usize, nb: usize,
  beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, eps: f32, wd: f32, decayFactor: f32,
  decoupled: i32, maximize: i32, stepSize: f32, bc2sqrt: f32,
): void {
  const b1 = sp(beta1), b1c = sp(oneMinusBeta1), b2 = sp(beta2), b2c = sp(oneMinusBeta2), ve = sp(eps), vwd = sp(wd);
  const decay = sp(decayFactor), vs = sp(stepSize), vbc = sp(bc2sqrt);
  for (let o: usize = 0; o < nb; o += 16) {
    let pv = v128.load(p + o);
    let gv = v128.load(g + o);
    if (maximize) gv = f32x4.neg(gv);
    if (wd != 0) {
      if (decoupled) pv = f32x4.mul(pv, decay);
      else gv = f32x4.add(gv, f32x4.mul(pv, vwd));
    }
    const mv = f32x4.add(f32x4.mul(v128.load(m + o), b1), f32x4.mul(gv, b1c));
    let vv = f32x4.add(f32x4.mul(v128.load(v + o), b2), f32x4.mul(f32x4.mul(gv, gv), b2c));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    if (vmax != 0) {
      vv = f32x4.max(v128.load(vmax + o), vv);
      v128.store(vmax + o, vv);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc), ve);
    v128.store(p + o, f32x4.sub(pv, f32x4.mul(f32x4.div(mv, denom), vs)));
  }
}

/**
 * Softmax (wantLog 0) or log-softmax (wantLog 1) of each row of x [R, C] into out, in the reference's order of
 * operations: z = x − m with m the row max (0 when it is ±∞; NaN propagates), e = eᶻ, s = Σ e accumulated in
 * float64, then softmax = e / s and log-softmax = z − ln s. Rows are read with whole vectors, tails masked.
 */
export function softmaxRows(x: usize, R: i32, C: i32, out: usize, wantLog: i32): void {
  const c4 = C & ~3;
  for (let r = 0; r < R; r++) {
    const row = x + (<usize>r * <usize>C << 2), dst = out + (<usize>r * <usize>C << 2);
    let mv = sp(-Infinity);
    let k = 0;
    for (; k < c4; k += 4) mv = f32x4.max(mv, v128.load(row + (<usize>k << 2)));
    let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (; k < C; k++) { const v = load<f32>(row + (<usize>k << 2)); m = v != v ? v : max(m, v); }
    if (m == -Infinity || m == Infinity) m = 0;
    const vm = sp(m);
    // e = exp(x − m) into out, s in float64
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    for (k = 0; k < c4; k += 4) {
      const e = vexp(f32x4.sub(v128.load(row + (<usize>k << 2)), vm));
      v128.store(dst + (<usize>k << 2), e);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
    }
    const sv = f64x2.add(s0, s1);
    let s = f64x2.extract_lane(sv, 0) + f64x2.extract_lane(sv, 1);
    for (; k < C; k++) {
      const e = f32x4.extract_lane(vexp(sp(load<f32>(row + (<usize>k << 2)) - m)), 0);
      store<f32>(dst + (<usize>k << 2), e);
      s += <f64>e;
    }
    const sf = <f32>s;
    if (wantLog) {
      const ls = f32x4.extract_lane(vlog(sp(sf)), 0), vls = sp(ls);
      for (k = 0; k < c4; k += 4) v128.store(dst + (<usize>k << 2), f32x4.sub(f32x4.sub(v128.load(row + (<usize>k << 2)), vm), vls));
      for (; k < C; k++) store<f32>(dst + (<usize>k << 2), (load<f32>(row + (<usize>k << 2)) - m) - ls);
    } else {
      const vs = sp(sf);
      for (k = 0; k < c4; k += 4) v128.store(dst + (<usize>k << 2), f32x4.div(v128.load(dst + (<usize>k << 2)), vs));
      for (; k < C; k++) store<f32>(dst + (<usize>k << 2), load<f32>(dst + (<usize>k << 2)) / sf);
    }
  }
}

/**
 * Binary cross-entropy terms ℓ = −(y·max(ln p, −100) + (1 − y)·max(ln(1 − p), −100)) over n elements (PyTorch's
 * BCELoss, logs clamped at −100), written to out. Returns the index of the first p outside [0, 1], or −1.
 */
export function bceForward(p: usize, y: usize, out: usize, n: i32): i32 {
  const n4 = n & ~3, r = n - n4, o = <usize>n4 << 2;
  bceForwardVectors(p, y, out, o);
  if (r != 0) {
    const s = scratch;
    tailIn(s, p + o, r);
    tailIn(s + 16, y + o, r);
    bceForwardVectors(s, s + 16, s + 32, 16);
    tailOut(out + o, s + 32, r);
  }
  for (let i = 0; i < n; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    if (v < 0 || v > 1) return i;
  }
  return -1;
}

@inline function bceForwardVectors(p: usize, y: usize, out: usize, nb: usize): void {
  const lo = k(LOG_FLOOR), one = k(ONE), zero = f32x4.splat(0);
  for (let o: usize = 0; o < nb; o += 16) {
    const pv = v128.load(p + o), yv = v128.load(y + o);
    const y1 = f32x4.eq(yv, one);
    if (i32x4.all_true(v128.or(y1, f32x4.eq(yv, zero)))) {
      // targets of 0 and 1 only (one-hot): one log, of p or 1 − p; the same bits as the sum below, whose other
      // term is then 0 times a finite log (the logs are floored at −100)
      v128.store(out + o, f32x4.neg(f32x4.pmax(vlog(v128.bitselect(pv, f32x4.sub(one, pv), y1)), lo)));
      continue;
    }
    const lp = f32x4.pmax(vlog(pv), lo), l1p = f32x4.pmax(vlog(f32x4.sub(one, pv)), lo);
    v128.store(out + o, f32x4.neg(f32x4.add(f32x4.mul(yv, lp), f32x4.mul(f32x4.sub(one, yv), l1p))));
  }
}

/** Its gradient: out = g·(p − y) / max(p·(1 − p), 1e-12); g is one value (gScalar) or n values. */
export function bceBackward(p: usize, y: usize, g: usize, gScalar: i32, out: usize, n: i32): void {
  const n4 = n & ~3, r = n - n4, o = <usize>n4 << 2;
  bceBackwardVectors(p, y, g, gScalar, out, o);
  if (r == 0) return;
  const s = scratch;
  tailIn(s, p + o, r);
  tailIn(s + 16, y + o, r);
  if (!gScalar) tailIn(s + 32, g + o, r);
  bceBackwardVectors(s, s + 16, gScalar ? g : s + 32, gScalar, s + 48, 16);
  tailOut(out + o, s + 48, r);
}

@inline function bceBackwardVectors(p: usize, y: usize, g: usize, gScalar: i32, out: usize, nb: usize): void {
  const one = k(ONE), eps = k(BCE_EPS);
  const gs = v128.load32_splat(g);
  for (let o: usize = 0; o < nb; o += 16) {
    const pv = v128.load(p + o);
    const d = f32x4.div(f32x4.sub(pv, v128.load(y + o)), f32x4.pmax(f32x4.mul(pv, f32x4.sub(one, pv)), eps));
    v128.store(out + o, f32x4.mul(gScalar ? gs : v128.load(g + o), d));
  }
}

/** Start of part t of `parts` over n elements, on whole 64-byte lines (16 floats), so that threads never share a line. */
@inline function partStart(t: i32, n: i32, parts: i32): i32 {
  const lines = (n + 15) >> 4;
  return min(n, <i32>(<i64>t * <i64>lines / <i64>parts) << 4);
}

// optimizer-step descriptors (i32 / f32 slots), written by the backend for a step shared with the thread pool
export const O_P = 0, O_G = 1, O_B1 = 2, O_B2 = 3, O_B3 = 4, O_N = 5, O_PARTS = 6;

@inline function oin(desc: usize, slot: i32): i32 { return load<i32>(desc + (<usize>slot << 2)); }
@inline function ofl(desc: usize, slot: i32): f32 { return load<f32>(desc + (<usize>slot << 2)); }
@inline function offset(p: usize, lo: i32): usize { return p == 0 ? 0 : p + (<usize>lo << 2); }

/**
 * Part t of an SGD step described at desc (slots: p, g, buf, –, –, n, parts, then nesterov, maximize, first as i32
 * and lr, momentum, 1 − dampening, wd as f32 at 7…13). Each element is updated alone: any split gives the same result.
 */
export function sgdPart(desc: usize, t: i32): void {
  const n = oin(desc, O_N), parts = oin(desc, O_PARTS), lo = partStart(t, n, parts), hi = partStart(t + 1, n, parts);
  if (hi <= lo) return;
  sgd(offset(oin(desc, O_P), lo), offset(oin(desc, O_G), lo), offset(oin(desc, O_B1), lo), hi - lo,
    ofl(desc, 10), ofl(desc, 11), ofl(desc, 12), ofl(desc, 13), oin(desc, 7), oin(desc, 8), oin(desc, 9));
}

/**
 * Part t of an Adam step described at desc (slots: p, g, m, v, vmax, n, parts, then decoupled, maximize as i32 and
 * beta1, 1 − beta1, beta2, 1 − beta2, eps, wd, decay factor, step size, √bias correction 2 as f32 at 9…17).
 */
export function adamPart(desc: usize, t: i32): void {
  const n = oin(desc, O_N), parts = oin(desc, O_PARTS), lo = partStart(t, n, parts), hi = partStart(t + 1, n, parts);
  if (hi <= lo) return;
  adam(offset(oin(desc, O_P), lo), offset(oin(desc, O_G), lo), offset(oin(desc, O_B1), lo), offset(oin(desc, O_B2), lo),
    offset(oin(desc, O_B3), lo), hi - lo, ofl(desc, 9), ofl(desc, 10), ofl(desc, 11), ofl(desc, 12), ofl(desc, 13), ofl(desc, 14),
    ofl(desc, 15), oin(desc, 7), oin(desc, 8), ofl(desc, 16), ofl(desc, 17));
}
