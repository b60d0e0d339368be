/**
 * Vectorised float32 transcendental functions on v128 (4 lanes), accurate to a couple of ulp:
 * exp by range reduction x = n·ln2 + r (Cody–Waite split of ln2) and a degree-5 minimax polynomial for eʳ,
 * scaled by 2ⁿ in two steps so that results in the subnormal range and overflow to ∞ come out right;
 * log by splitting off the exponent and a degree-8 polynomial on the mantissa in [√½, √2);
 * tanh by an odd polynomial near 0 and 1 − 2/(e²ˣ + 1) elsewhere. NaN propagates through all of them.
 * (The polynomial coefficients are the classic single-precision minimax fits, as in Cephes.)
 */

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;

@inline function sp(x: f32): v128 { return f32x4.splat(x); }

/** eˣ lane-wise. */
@inline export function vexp(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, sp(-104.0)), sp(89.0)); // NaN passes through pmin/pmax unchanged
  const n = f32x4.nearest(f32x4.mul(x, sp(LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(n, sp(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, sp(LN2_LO)));
  let p = f32x4.add(f32x4.mul(sp(1.9875691500e-4), r), sp(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), sp(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), sp(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), sp(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), sp(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r, r), p), r), sp(1.0));
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1), n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23), s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}

/** ln x lane-wise: −∞ at 0, NaN below 0, ∞ at ∞. */
@inline export function vlog(x: v128): v128 {
  // subnormal inputs: scale into the normal range first
  const tiny = f32x4.lt(x, sp(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, sp(8388608.0)), x, tiny);
  const bits = xs;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(126));
  e = v128.bitselect(i32x4.sub(e, i32x4.splat(23)), e, tiny);
  let m = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000)); // mantissa in [0.5, 1)
  const small = f32x4.lt(m, sp(0.707106781186547524));
  e = i32x4.add(e, small); // true lanes are -1
  m = f32x4.sub(f32x4.add(m, v128.and(m, small)), sp(1.0));
  const z = f32x4.mul(m, m);
  let p = f32x4.add(f32x4.mul(sp(7.0376836292e-2), m), sp(-1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, m), sp(1.1676998740e-1));
  p = f32x4.add(f32x4.mul(p, m), sp(-1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, m), sp(1.4249322787e-1));
  p = f32x4.add(f32x4.mul(p, m), sp(-1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, m), sp(2.0000714765e-1));
  p = f32x4.add(f32x4.mul(p, m), sp(-2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, m), sp(3.3333331174e-1));
  const ef = f32x4.convert_i32x4_s(e);
  let y = f32x4.mul(f32x4.mul(p, m), z);
  y = f32x4.add(y, f32x4.mul(ef, sp(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, sp(0.5)));
  let r = f32x4.add(f32x4.add(m, y), f32x4.mul(ef, sp(LN2_HI)));
  // specials: x = 0 → −∞, x < 0 → NaN, x = ∞ → ∞, NaN → NaN
  r = v128.bitselect(sp(-Infinity), r, f32x4.eq(x, sp(0)));
  r = v128.bitselect(sp(NaN), r, v128.or(f32x4.lt(x, sp(0)), f32x4.ne(x, x)));
  r = v128.bitselect(sp(Infinity), r, f32x4.eq(x, sp(Infinity)));
  return r;
}

/** 1 / (1 + e⁻ˣ) lane-wise. */
@inline export function vsigmoid(x: v128): v128 {
  return f32x4.div(sp(1.0), f32x4.add(sp(1.0), vexp(f32x4.neg(x))));
}

/** tanh lane-wise. */
@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(sp(-5.70498872745e-3), z), sp(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), sp(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), sp(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), sp(-3.33332819422e-1));
  const near = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const far = f32x4.sub(sp(1.0), f32x4.div(sp(2.0), f32x4.add(vexp(f32x4.add(ax, ax)), sp(1.0))));
  const signed = v128.or(v128.and(far, i32x4.splat(0x7fffffff)), v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(near, signed, f32x4.lt(ax, sp(0.625)));
}

/** max(x, 0), keeping NaN and −0 as the reference does (x < 0 ? 0 : x). */
@inline export function vrelu(x: v128): v128 {
  return v128.andnot(x, f32x4.lt(x, sp(0)));
}
