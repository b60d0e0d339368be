/**
 * Vectorised float32 transcendental functions on v128 (4 lanes), accurate to a couple of ulp:
 * exp by range reduction x = n·ln2 + r (Cody–Waite split of ln2) and a degree-5 minimax polynomial for eʳ,
 * scaled by 2ⁿ in two steps so that results in the subnormal range and overflow to ∞ come out right;
 * log by splitting off the exponent and a degree-8 polynomial on the mantissa in [√½, √2);
 * tanh by an odd polynomial near 0 and 1 − 2/(e²ˣ + 1) elsewhere. NaN propagates through all of them.
 * (The polynomial coefficients are the classic single-precision minimax fits, as in Cephes.)
 *
 * Constants are read from memory with a broadcast load (`k(...)`), not written as v128 constants: inside a loop
 * the engine rebuilds a v128 constant from general registers at every use (three instructions, two of them on
 * the vector pipes), while a broadcast load from L1 is one load. exp is about 1.5× faster so.
 */

/** One float32 constant in static memory, as a splatted vector. */
@inline export function k(p: usize): v128 { return v128.load32_splat(p); }

export const ONE = memory.data<f32>([1.0]);
export const TWO = memory.data<f32>([2.0]);
const EXP_LO = memory.data<f32>([-104.0]);
const EXP_HI = memory.data<f32>([89.0]);
const LOG2E = memory.data<f32>([1.44269504088896341]);
/** 1.5·2²³: adding it rounds to an integer (to nearest, ties to even) held in the low mantissa bits. */
const ROUNDER = memory.data<f32>([12582912.0]);
const LN2_HI = memory.data<f32>([0.693359375]);
const LN2_LO = memory.data<f32>([-2.12194440e-4]);
const EXP_P = memory.data<f32>([1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]);
const BIAS = memory.data<i32>([127]);
const MIN_NORMAL = memory.data<f32>([1.17549435e-38]);
const TWO23 = memory.data<f32>([8388608.0]);
const I23 = memory.data<i32>([23]);
const I126 = memory.data<i32>([126]);
const MANT = memory.data<i32>([0x007fffff]);
const HALF_BITS = memory.data<i32>([0x3f000000]);
const SQRT_HALF = memory.data<f32>([0.707106781186547524]);
const LOG_P = memory.data<f32>([7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]);
const HALF = memory.data<f32>([0.5]);
const ZERO = memory.data<f32>([0.0]);
const INF = memory.data<f32>([Infinity]);
const NEG_INF = memory.data<f32>([-Infinity]);
const NAN = memory.data<f32>([NaN]);
const TANH_P = memory.data<f32>([-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]);
const TANH_NEAR = memory.data<f32>([0.625]);
const ABS_MASK = memory.data<i32>([0x7fffffff]);
const SIGN_MASK = memory.data<i32>([0x80000000]);

/** n = round(x·log2 e), held in t's low mantissa bits (as an integer: t's bits − ROUNDER's bits). */
@inline function expRound(x: v128): v128 {
  return f32x4.add(f32x4.mul(x, k(LOG2E)), k(ROUNDER));
}

/** e^(x − n·ln2) for n from t = expRound(x): the polynomial on the reduced argument, in [√½, √2]. */
@inline function expReduced(x: v128, t: v128): v128 {
  const n = f32x4.sub(t, k(ROUNDER));
  let r = f32x4.sub(x, f32x4.mul(n, k(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, k(LN2_LO)));
  let p = f32x4.add(f32x4.mul(k(EXP_P), r), k(EXP_P + 4));
  p = f32x4.add(f32x4.mul(p, r), k(EXP_P + 8));
  p = f32x4.add(f32x4.mul(p, r), k(EXP_P + 12));
  p = f32x4.add(f32x4.mul(p, r), k(EXP_P + 16));
  p = f32x4.add(f32x4.mul(p, r), k(EXP_P + 20));
  return f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r, r), p), r), k(ONE));
}

/** eˣ lane-wise. */
@inline export function vexp(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, k(EXP_LO)), k(EXP_HI)); // NaN passes through pmin/pmax unchanged
  const t = expRound(x), y = expReduced(x, t);
  const ni = i32x4.sub(t, k(ROUNDER));
  const n1 = i32x4.shr_s(ni, 1), n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, k(BIAS)), 23), s2 = i32x4.shl(i32x4.add(n2, k(BIAS)), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}

/** ln x lane-wise: −∞ at 0, NaN below 0, ∞ at ∞. */
@inline export function vlog(x: v128): v128 {
  // subnormal inputs: scale into the normal range first
  const tiny = f32x4.lt(x, k(MIN_NORMAL));
  const xs = v128.bitselect(f32x4.mul(x, k(TWO23)), x, tiny);
  const bits = xs;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), k(I126));
  e = v128.bitselect(i32x4.sub(e, k(I23)), e, tiny);
  let m = v128.or(v128.and(bits, k(MANT)), k(HALF_BITS)); // mantissa in [0.5, 1)
  const small = f32x4.lt(m, k(SQRT_HALF));
  e = i32x4.add(e, small); // true lanes are -1
  m = f32x4.sub(f32x4.add(m, v128.and(m, small)), k(ONE));
  const z = f32x4.mul(m, m);
  let p = f32x4.add(f32x4.mul(k(LOG_P), m), k(LOG_P + 4));
  p = f32x4.add(f32x4.mul(p, m), k(LOG_P + 8));
  p = f32x4.add(f32x4.mul(p, m), k(LOG_P + 12));
  p = f32x4.add(f32x4.mul(p, m), k(LOG_P + 16));
  p = f32x4.add(f32x4.mul(p, m), k(LOG_P + 20));
  p = f32x4.add(f32x4.mul(p, m), k(LOG_P + 24));
  p = f32x4.add(f32x4.mul(p, m), k(LOG_P + 28));
  p = f32x4.add(f32x4.mul(p, m), k(LOG_P + 32));
  const ef = f32x4.convert_i32x4_s(e);
  let y = f32x4.mul(f32x4.mul(p, m), z);
  y = f32x4.add(y, f32x4.mul(ef, k(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, k(HALF)));
  let r = f32x4.add(f32x4.add(m, y), f32x4.mul(ef, k(LN2_HI)));
  // specials: x = 0 → −∞, x < 0 → NaN, x = ∞ → ∞, NaN → NaN
  r = v128.bitselect(k(NEG_INF), r, f32x4.eq(x, k(ZERO)));
  r = v128.bitselect(k(NAN), r, v128.or(f32x4.lt(x, k(ZERO)), f32x4.ne(x, x)));
  r = v128.bitselect(k(INF), r, f32x4.eq(x, k(INF)));
  return r;
}

/** 1 / (1 + e⁻ˣ) lane-wise. */
@inline export function vsigmoid(x: v128): v128 {
  return f32x4.div(k(ONE), f32x4.add(k(ONE), vexp(f32x4.neg(x))));
}

const SIG_LO = memory.data<f32>([-87.0]);
const SIG_HI = memory.data<f32>([89.0]);

/**
 * vsigmoid over n floats (n a multiple of 4), its exp specialised: e⁻ˣ is taken with −x clamped to [−87, 89], where
 * 2ⁿ is one float (n ≤ 127: normal; n = 128: ∞, and the sigmoid 0), so it is scaled in one step (15 % faster). Equal
 * to vsigmoid bit for bit except for x < −88.4, where the sigmoid is below 2⁻¹²⁶: 0 there (vsigmoid reaches 0 from
 * −88.7, the reference gives the tiny true value). Above x = 87, 1 + e⁻ˣ is 1 either way.
 */
export function sigmoidVectors(x: usize, out: usize, n: i32): void {
  const end = x + (<usize>n << 2);
  while (x < end) {
    const z = f32x4.pmin(f32x4.pmax(f32x4.neg(v128.load(x)), k(SIG_LO)), k(SIG_HI));
    const t = expRound(z), y = expReduced(z, t);
    const s = i32x4.shl(i32x4.add(i32x4.sub(t, k(ROUNDER)), k(BIAS)), 23);
    v128.store(out, f32x4.div(k(ONE), f32x4.add(k(ONE), f32x4.mul(y, s))));
    x += 16; out += 16;
  }
}

/** tanh lane-wise. */
@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(k(TANH_P), z), k(TANH_P + 4));
  p = f32x4.add(f32x4.mul(p, z), k(TANH_P + 8));
  p = f32x4.add(f32x4.mul(p, z), k(TANH_P + 12));
  p = f32x4.add(f32x4.mul(p, z), k(TANH_P + 16));
  const near = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const far = f32x4.sub(k(ONE), f32x4.div(k(TWO), f32x4.add(vexp(f32x4.add(ax, ax)), k(ONE))));
  const signed = v128.or(v128.and(far, k(ABS_MASK)), v128.and(x, k(SIGN_MASK)));
  return v128.bitselect(near, signed, f32x4.lt(ax, k(TANH_NEAR)));
}

/** max(x, 0), keeping NaN and −0 as the reference does (x < 0 ? 0 : x). */
@inline export function vrelu(x: v128): v128 {
  return v128.andnot(x, f32x4.lt(x, k(ZERO)));
}
