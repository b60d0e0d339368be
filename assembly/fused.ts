/**
 * Fused float32 kernels: one pass instead of a chain of ops. Each follows PyTorch's order of operations
 * (torch.optim's single-tensor SGD and Adam, log-softmax by max subtraction) so results agree to rounding.
 */
import { vexp, vlog } from './math';

@inline function sp(x: f32): v128 { return f32x4.splat(x); }

/**
 * SGD step in place on p (and buf): d = ±g + wd·p; buf = first ? d : momentum·buf + (1 − dampening)·d;
 * d = nesterov ? d + momentum·buf : buf (when momentum ≠ 0); p −= lr·d. Buffers padded to whole vectors.
 */
export function sgd(
  p: usize, g: usize, buf: usize, n: i32, lr: f32, momentum: f32, oneMinusDampening: f32, wd: f32,
  nesterov: i32, maximize: i32, first: i32,
): void {
  const nb = <usize>(n + 3) >> 2 << 4;
  const vlr = sp(lr), vm = sp(momentum), vd = sp(oneMinusDampening), vwd = sp(wd);
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
  const nb = <usize>(n + 3) >> 2 << 4;
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
 * Row-wise log-softmax of x [R, C] into out: out = x − max − log Σ exp(x − max) (rows of all −∞ give NaN, as
 * PyTorch). With wantSoftmax, out holds softmax instead. Rows are read with whole vectors; row tails masked.
 */
export function logSoftmaxRows(x: usize, R: i32, C: i32, out: usize, wantSoftmax: i32): void {
  const c4 = C & ~3;
  for (let r = 0; r < R; r++) {
    const row = x + (<usize>r * <usize>C << 2), dst = out + (<usize>r * <usize>C << 2);
    // max (NaN propagates through f32x4.max)
    let mv = sp(-Infinity);
    let k = 0;
    for (; k < c4; k += 4) mv = f32x4.max(mv, v128.load(row + (<usize>k << 2)));
    let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (; k < C; k++) mx = max(mx, load<f32>(row + (<usize>k << 2)));
    if (mx == -Infinity || mx == Infinity) mx = 0; // shift by 0, like logsumexp on infinite rows
    const vmx = sp(mx);
    let sv = sp(0);
    for (k = 0; k < c4; k += 4) sv = f32x4.add(sv, vexp(f32x4.sub(v128.load(row + (<usize>k << 2)), vmx)));
    let s = f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 1) + f32x4.extract_lane(sv, 2) + f32x4.extract_lane(sv, 3);
    for (; k < C; k++) s += f32x4.extract_lane(vexp(sp(load<f32>(row + (<usize>k << 2)) - mx)), 0);
    const lse = mx + f32x4.extract_lane(vlog(sp(s)), 0);
    const vl = sp(lse);
    for (k = 0; k < c4; k += 4) {
      const y = f32x4.sub(v128.load(row + (<usize>k << 2)), vl);
      v128.store(dst + (<usize>k << 2), wantSoftmax ? vexp(y) : y);
    }
    for (; k < C; k++) {
      const y = load<f32>(row + (<usize>k << 2)) - lse;
      store<f32>(dst + (<usize>k << 2), wantSoftmax ? f32x4.extract_lane(vexp(sp(y)), 0) : y);
    }
  }
}

/**
 * Binary cross-entropy terms ℓ = −(y·max(ln p, −100) + (1 − y)·max(ln(1 − p), −100)) over n elements (PyTorch's
 * BCELoss, logs clamped at −100), written to out. Returns the index of the first p outside [0, 1], or −1.
 */
export function bceForward(p: usize, y: usize, out: usize, n: i32): i32 {
  const nb = <usize>n << 2;
  const lo = sp(-100), one = sp(1.0);
  for (let o: usize = 0; o < nb; o += 16) {
    const pv = v128.load(p + o), yv = v128.load(y + o);
    const lp = f32x4.pmax(vlog(pv), lo), l1p = f32x4.pmax(vlog(f32x4.sub(one, pv)), lo);
    v128.store(out + o, f32x4.neg(f32x4.add(f32x4.mul(yv, lp), f32x4.mul(f32x4.sub(one, yv), l1p))));
  }
  for (let i = 0; i < n; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    if (v < 0 || v > 1) return i;
  }
  return -1;
}

/** Its gradient: out = g·(p − y) / max(p·(1 − p), 1e-12); g is one value (gScalar) or n values. */
export function bceBackward(p: usize, y: usize, g: usize, gScalar: i32, out: usize, n: i32): void {
  const nb = <usize>(n + 3) >> 2 << 4;
  const one = sp(1.0), eps = sp(1e-12);
  const gs = v128.load32_splat(g);
  for (let o: usize = 0; o < nb; o += 16) {
    const pv = v128.load(p + o);
    const d = f32x4.div(f32x4.sub(pv, v128.load(y + o)), f32x4.pmax(f32x4.mul(pv, f32x4.sub(one, pv)), eps));
    v128.store(out + o, f32x4.mul(gScalar ? gs : v128.load(g + o), d));
  }
}
