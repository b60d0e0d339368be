// ISA-generic kernel bodies. Included once per instruction set, inside that set's namespace, after its
// simd_*.h (which defines vf, vm, NB_W, NB_MR and the v* primitives). No includes here.

// ------------------------------------------------------------------ vector math

/** eˣ, Cephes-style: n = round(x·log₂e), r = x − n·ln2 (two-part ln2), e^r by a degree-6 polynomial,
 *  then ·2ⁿ applied in two halves so that results down to the denormals and up to +∞ come out right. */
static inline vf vexp(vf x0) {
  vf x = vmin_raw(vset1(100.0f), x0); // min/max return their second operand on NaN: NaN is kept
  x = vmax_raw(vset1(-104.0f), x);
  vf n = vrint(vmul(x, vset1(1.44269504088896341f)));
  vf r = vfnma(n, vset1(0.693359375f), x);
  r = vfnma(n, vset1(-2.12194440e-4f), r);
  vf p = vset1(1.9875691500e-4f);
  p = vfma(p, r, vset1(1.3981999507e-3f));
  p = vfma(p, r, vset1(8.3334519073e-3f));
  p = vfma(p, r, vset1(4.1665795894e-2f));
  p = vfma(p, r, vset1(1.6666665459e-1f));
  p = vfma(p, r, vset1(5.0000001201e-1f));
  vf y = vfma(vmul(p, r), r, vadd(r, vset1(1.0f)));
  vi ni = vcvt_f2i(n);
  vi n1 = vi_srai1(ni), n2 = vi_sub(ni, n1);
  vf s1 = vasf(vi_slli23(vi_add(n1, vi_set1(127))));
  vf s2 = vasf(vi_slli23(vi_add(n2, vi_set1(127))));
  return vmul(vmul(y, s1), s2);
}

/** ln x, Cephes-style: x = m·2ᵉ with m in [√½, √2), ln(m) by a degree-9 polynomial. */
static inline vf vlog(vf x0) {
  const vf tiny = vset1(1.17549435e-38f);
  vm den = vlt(x0, tiny);
  vf x = vsel(den, vmul(x0, vset1(8388608.0f)), x0); // scale denormals by 2²³
  vi xi = vasi(x);
  vf e = vcvt_i2f(vi_sub(vi_srli23(vi_and(xi, vi_set1(0x7f800000))), vi_set1(126)));
  e = vsel(den, vsub(e, vset1(23.0f)), e);
  vf m = vasf(vi_or(vi_and(xi, vi_set1(0x007fffff)), vi_set1(0x3f000000))); // m in [0.5, 1)
  vm lo = vlt(m, vset1(0.707106781186547524f));
  e = vsel(lo, vsub(e, vset1(1.0f)), e);
  m = vsel(lo, vsub(vadd(m, m), vset1(1.0f)), vsub(m, vset1(1.0f)));
  vf z = vmul(m, m);
  vf p = vset1(7.0376836292e-2f);
  p = vfma(p, m, vset1(-1.1514610310e-1f));
  p = vfma(p, m, vset1(1.1676998740e-1f));
  p = vfma(p, m, vset1(-1.2420140846e-1f));
  p = vfma(p, m, vset1(1.4249322787e-1f));
  p = vfma(p, m, vset1(-1.6668057665e-1f));
  p = vfma(p, m, vset1(2.0000714765e-1f));
  p = vfma(p, m, vset1(-2.4999993993e-1f));
  p = vfma(p, m, vset1(3.3333331174e-1f));
  vf y = vmul(vmul(p, m), z);
  y = vfma(e, vset1(-2.12194440e-4f), y);
  y = vfnma(vset1(0.5f), z, y);
  vf r = vadd(m, y);
  r = vfma(e, vset1(0.693359375f), r);
  // specials: ln 0 = −∞, ln(x < 0) = NaN, ln ∞ = ∞, ln NaN = NaN
  const vf inf = vset1(__builtin_inff());
  r = vsel(veq(x0, vzero()), vset1(-__builtin_inff()), r);
  r = vsel(vlt(x0, vzero()), vset1(__builtin_nanf("")), r);
  r = vsel(veq(x0, inf), inf, r);
  r = vsel(visnan(x0), x0, r);
  return r;
}

static inline vf vsigmoid(vf x) {
  return vdiv(vset1(1.0f), vadd(vset1(1.0f), vexp(vxor(x, vset1(-0.0f)))));
}

/** tanh: an odd polynomial below |x| = 0.625 (Cephes), 1 − 2/(e^{2|x|} + 1) with x's sign above. */
static inline vf vtanh(vf x) {
  const vf signbit = vset1(-0.0f);
  vf ax = vxor(x, vand(x, signbit));
  vf z = vmul(x, x);
  vf p = vset1(-5.70498872745e-3f);
  p = vfma(p, z, vset1(2.06390887954e-2f));
  p = vfma(p, z, vset1(-5.37397155531e-2f));
  p = vfma(p, z, vset1(1.33314422036e-1f));
  p = vfma(p, z, vset1(-3.33332819422e-1f));
  vf small = vfma(vmul(p, z), x, x);
  vf big = vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(vexp(vadd(ax, ax)), vset1(1.0f))));
  big = vor(big, vand(x, signbit));
  return vsel(vlt(ax, vset1(0.625f)), small, big);
}

/** erf by the same Chebyshev-fitted erfc as the reference backend (|error| < 1.2e-7). */
static inline vf verf(vf x) {
  const vf signbit = vset1(-0.0f);
  vf z = vxor(x, vand(x, signbit));
  vf t = vdiv(vset1(1.0f), vfma(vset1(0.5f), z, vset1(1.0f)));
  vf p = vset1(0.17087277f);
  p = vfma(p, t, vset1(-0.82215223f));
  p = vfma(p, t, vset1(1.48851587f));
  p = vfma(p, t, vset1(-1.13520398f));
  p = vfma(p, t, vset1(0.27886807f));
  p = vfma(p, t, vset1(-0.18628806f));
  p = vfma(p, t, vset1(0.09678418f));
  p = vfma(p, t, vset1(0.37409196f));
  p = vfma(p, t, vset1(1.00002368f));
  p = vfma(p, t, vset1(-1.26551223f));
  vf r = vmul(t, vexp(vfnma(z, z, p)));
  vf pos = vsub(vset1(1.0f), r);
  return vsel(vlt(x, vzero()), vxor(pos, signbit), pos);
}

// ------------------------------------------------------------------ elementwise loops

/** Apply f to every W-lane block of [0, n); the tail goes through a masked load/store. */
template <class F>
static inline void map1(const float* x, float* y, long n, F f) {
  long i = 0;
  for (; i + 2 * NB_W <= n; i += 2 * NB_W) {
    vf a = vload(x + i), b = vload(x + i + NB_W);
    vstore(y + i, f(a));
    vstore(y + i + NB_W, f(b));
  }
  for (; i + NB_W <= n; i += NB_W) vstore(y + i, f(vload(x + i)));
  if (i < n) vstore_n(y + i, f(vload_n(x + i, (int)(n - i))), (int)(n - i));
}

template <class F>
static inline void scalar_map1(const float* x, float* y, long n, F f) {
  for (long i = 0; i < n; i++) y[i] = f(x[i]);
}

static void unary_k(int op, const float* x, float* y, long n) {
  const vf zero = vzero(), one = vset1(1.0f), signbit = vset1(-0.0f);
  switch (op) {
    case nabla::U_NEG: map1(x, y, n, [&](vf v) { return vxor(v, signbit); }); break;
    case nabla::U_EXP: map1(x, y, n, [](vf v) { return vexp(v); }); break;
    case nabla::U_LOG: map1(x, y, n, [](vf v) { return vlog(v); }); break;
    case nabla::U_SQRT: map1(x, y, n, [](vf v) { return vsqrt(v); }); break;
    case nabla::U_ABS: map1(x, y, n, [&](vf v) { return vxor(v, vand(v, signbit)); }); break;
    case nabla::U_SIGMOID: map1(x, y, n, [](vf v) { return vsigmoid(v); }); break;
    case nabla::U_TANH: map1(x, y, n, [](vf v) { return vtanh(v); }); break;
    case nabla::U_RELU: map1(x, y, n, [&](vf v) { return vsel(vlt(v, zero), zero, v); }); break;
    case nabla::U_SIGN:
      map1(x, y, n, [&](vf v) { return vsel(vgt(v, zero), one, vsel(vlt(v, zero), vset1(-1.0f), v)); });
      break;
    case nabla::U_RECIPROCAL: map1(x, y, n, [&](vf v) { return vdiv(one, v); }); break;
    case nabla::U_SIN: scalar_map1(x, y, n, [](float v) { return (float)__builtin_sin((double)v); }); break;
    case nabla::U_COS: scalar_map1(x, y, n, [](float v) { return (float)__builtin_cos((double)v); }); break;
    case nabla::U_ERF: map1(x, y, n, [](vf v) { return verf(v); }); break;
    case nabla::U_FLOOR: map1(x, y, n, [](vf v) { return vfloor(v); }); break;
    case nabla::U_CEIL: map1(x, y, n, [](vf v) { return vceil(v); }); break;
    case nabla::U_ROUND: map1(x, y, n, [](vf v) { return vrint(v); }); break;
  }
}

/** y = f(a, b) with each operand contiguous (s = 1) or one broadcast scalar (s = 0). */
template <class F>
static inline void map2(const float* a, int sa, const float* b, int sb, float* y, long n, F f) {
  long i = 0;
  if (sa && sb) {
    for (; i + NB_W <= n; i += NB_W) vstore(y + i, f(vload(a + i), vload(b + i)));
    if (i < n) { int r = (int)(n - i); vstore_n(y + i, f(vload_n(a + i, r), vload_n(b + i, r)), r); }
  } else if (sa) {
    const vf bv = vset1(*b);
    for (; i + NB_W <= n; i += NB_W) vstore(y + i, f(vload(a + i), bv));
    if (i < n) { int r = (int)(n - i); vstore_n(y + i, f(vload_n(a + i, r), bv), r); }
  } else if (sb) {
    const vf av = vset1(*a);
    for (; i + NB_W <= n; i += NB_W) vstore(y + i, f(av, vload(b + i)));
    if (i < n) { int r = (int)(n - i); vstore_n(y + i, f(av, vload_n(b + i, r)), r); }
  } else {
    alignas(64) float t[NB_W];
    vstore(t, f(vset1(*a), vset1(*b)));
    for (; i < n; i++) y[i] = t[0];
  }
}

/** Math.pow's special cases where C's pow differs: a NaN exponent, and (±1)^(±∞), are NaN. */
static inline float js_pow(float a, float b) {
  if (b != b) return __builtin_nanf("");
  if ((a == 1.0f || a == -1.0f) && (b == __builtin_inff() || b == -__builtin_inff())) return __builtin_nanf("");
  return (float)__builtin_pow((double)a, (double)b);
}

static void binary_k(int op, const float* a, int sa, const float* b, int sb, float* y, long n) {
  switch (op) {
    case nabla::B_ADD: map2(a, sa, b, sb, y, n, [](vf p, vf q) { return vadd(p, q); }); break;
    case nabla::B_SUB: map2(a, sa, b, sb, y, n, [](vf p, vf q) { return vsub(p, q); }); break;
    case nabla::B_MUL: map2(a, sa, b, sb, y, n, [](vf p, vf q) { return vmul(p, q); }); break;
    case nabla::B_DIV: map2(a, sa, b, sb, y, n, [](vf p, vf q) { return vdiv(p, q); }); break;
    // (a > b || a is NaN) ? a : b — the reference's rule, so NaN and ±0 come out the same
    case nabla::B_MAXIMUM: map2(a, sa, b, sb, y, n, [](vf p, vf q) { return vsel(mor(vgt(p, q), visnan(p)), p, q); }); break;
    case nabla::B_MINIMUM: map2(a, sa, b, sb, y, n, [](vf p, vf q) { return vsel(mor(vlt(p, q), visnan(p)), p, q); }); break;
    case nabla::B_POW:
      if (!sb && *b == 2.0f) { map2(a, sa, b, sb, y, n, [](vf p, vf) { return vmul(p, p); }); break; }
      for (long i = 0; i < n; i++) y[i] = js_pow(a[sa ? i : 0], b[sb ? i : 0]);
      break;
  }
}

template <class F>
static inline void cmp2(const float* a, int sa, const float* b, int sb, uint8_t* y, long n, F f) {
  long i = 0;
  const vf av = vset1(*a), bv = vset1(*b);
  for (; i + NB_W <= n; i += NB_W) mstore_u8(y + i, f(sa ? vload(a + i) : av, sb ? vload(b + i) : bv));
  for (; i < n; i++) {
    alignas(64) uint8_t t[NB_W];
    mstore_u8(t, f(vset1(a[sa ? i : 0]), vset1(b[sb ? i : 0])));
    y[i] = t[0];
  }
}

static void compare_k(int op, const float* a, int sa, const float* b, int sb, uint8_t* y, long n) {
  switch (op) {
    case nabla::B_EQ: cmp2(a, sa, b, sb, y, n, [](vf p, vf q) { return veq(p, q); }); break;
    case nabla::B_NE: cmp2(a, sa, b, sb, y, n, [](vf p, vf q) { return vne(p, q); }); break;
    case nabla::B_LT: cmp2(a, sa, b, sb, y, n, [](vf p, vf q) { return vlt(p, q); }); break;
    case nabla::B_LE: cmp2(a, sa, b, sb, y, n, [](vf p, vf q) { return vle(p, q); }); break;
    case nabla::B_GT: cmp2(a, sa, b, sb, y, n, [](vf p, vf q) { return vgt(p, q); }); break;
    case nabla::B_GE: cmp2(a, sa, b, sb, y, n, [](vf p, vf q) { return vge(p, q); }); break;
  }
}

static void isnan_k(const float* x, uint8_t* y, long n) {
  long i = 0;
  for (; i + NB_W <= n; i += NB_W) mstore_u8(y + i, visnan(vload(x + i)));
  for (; i < n; i++) y[i] = x[i] != x[i];
}

static void where_k(const uint8_t* c, int sc, const float* a, int sa, const float* b, int sb, float* y, long n) {
  long i = 0;
  const vf av = vset1(*a), bv = vset1(*b);
  if (sc) {
    for (; i + NB_W <= n; i += NB_W) vstore(y + i, vsel(mload_u8(c + i), sa ? vload(a + i) : av, sb ? vload(b + i) : bv));
  }
  for (; i < n; i++) y[i] = c[sc ? i : 0] ? a[sa ? i : 0] : b[sb ? i : 0];
}

// ------------------------------------------------------------------ reductions

static double sum_k(const float* x, long n) {
  double total = 0;
  long i = 0;
  while (i < n) {
    long end = n - i > 4096 ? i + 4096 : n; // float partial sums over at most 4096 / (4·W) terms per lane
    vf s0 = vzero(), s1 = vzero(), s2 = vzero(), s3 = vzero();
    for (; i + 4 * NB_W <= end; i += 4 * NB_W) {
      s0 = vadd(s0, vload(x + i)); s1 = vadd(s1, vload(x + i + NB_W));
      s2 = vadd(s2, vload(x + i + 2 * NB_W)); s3 = vadd(s3, vload(x + i + 3 * NB_W));
    }
    for (; i + NB_W <= end; i += NB_W) s0 = vadd(s0, vload(x + i));
    if (i < end) { s1 = vadd(s1, vload_n(x + i, (int)(end - i))); i = end; }
    total += (double)vhsum(vadd(vadd(s0, s1), vadd(s2, s3)));
  }
  return total;
}

static void sum_rows_k(const float* x, long rows, long ld, long n, double* acc) {
  alignas(64) float t[1024];
  for (long j0 = 0; j0 < n; j0 += 1024) {
    long w = n - j0 < 1024 ? n - j0 : 1024;
    for (long k0 = 0; k0 < rows; k0 += 64) {
      long k1 = rows - k0 < 64 ? rows : k0 + 64;
      long j = 0;
      for (; j + NB_W <= w; j += NB_W) {
        vf s = vzero();
        for (long k = k0; k < k1; k++) s = vadd(s, vload(x + k * ld + j0 + j));
        vstore(t + j, s);
      }
      if (j < w) {
        int r = (int)(w - j);
        vf s = vzero();
        for (long k = k0; k < k1; k++) s = vadd(s, vload_n(x + k * ld + j0 + j, r));
        vstore_n(t + j, s, r);
      }
      for (long q = 0; q < w; q++) acc[j0 + q] += (double)t[q];
    }
  }
}

static float extreme_k(const float* x, long n, int sign) {
  vf m = vset1(x[0]);
  vm nan = visnan(m);
  long i = 0;
  if (sign > 0) {
    for (; i + NB_W <= n; i += NB_W) { vf v = vload(x + i); nan = mor(nan, visnan(v)); m = vmax_raw(m, v); }
  } else {
    for (; i + NB_W <= n; i += NB_W) { vf v = vload(x + i); nan = mor(nan, visnan(v)); m = vmin_raw(m, v); }
  }
  float r = sign > 0 ? vhmax(m) : vhmin(m);
  bool anynan = many(nan);
  for (; i < n; i++) {
    float v = x[i];
    if (v != v) anynan = true;
    else if (sign > 0 ? v > r : v < r) r = v;
  }
  return anynan ? __builtin_nanf("") : r;
}

static void extreme_rows_k(const float* x, long rows, long ld, long n, int sign, float* acc, uint8_t* nan) {
  long j = 0;
  for (; j + NB_W <= n; j += NB_W) {
    vf m = vload(acc + j);
    vm bad = visnan(m);
    for (long k = 0; k < rows; k++) {
      vf v = vload(x + k * ld + j);
      bad = mor(bad, visnan(v));
      m = sign > 0 ? vmax_raw(m, v) : vmin_raw(m, v);
    }
    vstore(acc + j, m);
    alignas(64) uint8_t t[NB_W];
    mstore_u8(t, bad);
    for (int q = 0; q < NB_W; q++) nan[j + q] |= t[q];
  }
  for (; j < n; j++) {
    float m = acc[j];
    for (long k = 0; k < rows; k++) {
      float v = x[k * ld + j];
      if (v != v) nan[j] = 1;
      else if (sign > 0 ? v > m : v < m) m = v;
    }
    acc[j] = m;
  }
}

static void axpy_k(float a, const float* x, float* y, long n) {
  const vf av = vset1(a);
  long i = 0;
  for (; i + NB_W <= n; i += NB_W) vstore(y + i, vfma(av, vload(x + i), vload(y + i)));
  if (i < n) { int r = (int)(n - i); vstore_n(y + i, vfma(av, vload_n(x + i, r), vload_n(y + i, r)), r); }
}

// ------------------------------------------------------------------ fused optimizer steps

static void sgd_k(const nabla::SgdParams* q, float* p, const float* g, float* buf, long n) {
  const vf lr = vset1(q->lr), mu = vset1(q->momentum), damp = vset1(1.0f - q->dampening), wd = vset1(q->weight_decay);
  const vf flip = vset1(q->maximize ? -0.0f : 0.0f);
  const bool decay = q->weight_decay != 0.0f;
  long i = 0;
  auto step = [&](vf pv, vf gv, vf bv, vf* bout) {
    vf d = vxor(gv, flip);
    if (decay) d = vadd(d, vmul(wd, pv));
    if (buf) {
      vf b = q->first ? d : vadd(vmul(mu, bv), vmul(damp, d));
      *bout = b;
      d = q->nesterov ? vadd(d, vmul(mu, b)) : b;
    }
    return vsub(pv, vmul(lr, d));
  };
  for (; i + NB_W <= n; i += NB_W) {
    vf b = vzero();
    vf r = step(vload(p + i), vload(g + i), buf ? vload(buf + i) : vzero(), &b);
    if (buf) vstore(buf + i, b);
    vstore(p + i, r);
  }
  if (i < n) {
    int r = (int)(n - i);
    vf b = vzero();
    vf out = step(vload_n(p + i, r), vload_n(g + i, r), buf ? vload_n(buf + i, r) : vzero(), &b);
    if (buf) vstore_n(buf + i, b, r);
    vstore_n(p + i, out, r);
  }
}

static void adam_k(const nabla::AdamParams* q, float* p, const float* g, float* m, float* v, float* vmax, long n) {
  const vf b1 = vset1(q->beta1), c1 = vset1(1.0f - q->beta1), b2 = vset1(q->beta2), c2 = vset1(1.0f - q->beta2);
  const vf wd = vset1(q->weight_decay), shrink = vset1(1.0f - q->lr * q->weight_decay);
  const vf ss = vset1(q->step_size), ib2 = vset1(q->inv_sqrt_bc2), eps = vset1(q->eps);
  const vf flip = vset1(q->maximize ? -0.0f : 0.0f);
  const bool decay = q->weight_decay != 0.0f;
  auto step = [&](long i, int r) {
    vf pv = r ? vload_n(p + i, r) : vload(p + i);
    vf gv = vxor(r ? vload_n(g + i, r) : vload(g + i), flip);
    if (decay) {
      if (q->decoupled) pv = vmul(pv, shrink);
      else gv = vadd(gv, vmul(wd, pv));
    }
    vf mv = vadd(vmul(b1, r ? vload_n(m + i, r) : vload(m + i)), vmul(c1, gv));
    vf vv = vadd(vmul(b2, r ? vload_n(v + i, r) : vload(v + i)), vmul(vmul(c2, gv), gv));
    vf vh = vv;
    if (vmax) {
      vf old = r ? vload_n(vmax + i, r) : vload(vmax + i);
      vh = vsel(vgt(old, vv), old, vv);
      if (r) vstore_n(vmax + i, vh, r); else vstore(vmax + i, vh);
    }
    vf upd = vdiv(vmul(ss, mv), vadd(vmul(vsqrt(vh), ib2), eps));
    pv = vsub(pv, upd);
    if (r) { vstore_n(m + i, mv, r); vstore_n(v + i, vv, r); vstore_n(p + i, pv, r); }
    else { vstore(m + i, mv); vstore(v + i, vv); vstore(p + i, pv); }
  };
  long i = 0;
  for (; i + NB_W <= n; i += NB_W) step(i, 0);
  if (i < n) step(i, (int)(n - i));
}

// ------------------------------------------------------------------ fused activation gradients and BCE
// Each follows the unfused tensor expression operation by operation (float32 rounding after each), so
// the fused and unfused paths of one backend agree exactly.

/** (a > b or a is NaN) ? a : b — maximum/clamp's rule. */
static inline vf vmaximum(vf a, vf b) { return vsel(mor(vgt(a, b), visnan(a)), a, b); }

template <class F>
static inline void map3(const float* a, int sa, const float* b, int sb, const float* c, int sc, float* y, long n, F f) {
  const vf as = vset1(*a), bs = vset1(*b), cs = vset1(*c);
  long i = 0;
  for (; i + NB_W <= n; i += NB_W)
    vstore(y + i, f(sa ? vload(a + i) : as, sb ? vload(b + i) : bs, sc ? vload(c + i) : cs));
  if (i < n) {
    int r = (int)(n - i);
    vstore_n(y + i, f(sa ? vload_n(a + i, r) : as, sb ? vload_n(b + i, r) : bs, sc ? vload_n(c + i, r) : cs), r);
  }
}

static void act_grad_k(int op, const float* y, int sy, const float* g, int sg, float* out, long n) {
  const vf one = vset1(1.0f);
  if (op == 0) map3(y, sy, g, sg, g, sg, out, n, [&](vf yv, vf gv, vf) { return vmul(gv, vmul(yv, vsub(one, yv))); });
  else map3(y, sy, g, sg, g, sg, out, n, [&](vf yv, vf gv, vf) { return vmul(gv, vsub(one, vmul(yv, yv))); });
}

static long bce_forward_k(const float* p, int sp, const float* y, int sy, float* out, long n) {
  const vf one = vset1(1.0f), lo = vset1(-100.0f), flip = vset1(-0.0f);
  for (long i = 0; i < n; i++) {
    float v = p[sp ? i : 0];
    if (v < 0.0f || v > 1.0f) return i;
  }
  map3(p, sp, y, sy, y, sy, out, n, [&](vf pv, vf yv, vf) {
    vf lp = vmaximum(vlog(pv), lo), l1p = vmaximum(vlog(vsub(one, pv)), lo);
    return vxor(vadd(vmul(yv, lp), vmul(vsub(one, yv), l1p)), flip);
  });
  return -1;
}

static void bce_backward_k(const float* p, int sp, const float* y, int sy, const float* g, int sg, float* out, long n) {
  const vf one = vset1(1.0f), tiny = vset1(1e-12f);
  map3(p, sp, y, sy, g, sg, out, n, [&](vf pv, vf yv, vf gv) {
    return vmul(gv, vdiv(vsub(pv, yv), vmaximum(vmul(pv, vsub(one, pv)), tiny)));
  });
}

// ------------------------------------------------------------------ pooling

/** One output row of 2×2, stride-2 max pooling: windows at columns 2·ow of the input rows r0 and r1 (their
 *  flat plane positions start at p0 and p1); the reference's order and rules (NaN wins, the last one). */
static void maxpool2x2_row_k(const float* r0, const float* r1, long n, int32_t p0, int32_t p1, float* out, int32_t* idx) {
  const vi two = vi_add(vi_iota(), vi_iota()), one = vi_set1(1);
  for (long ow = 0; ow < n; ow += NB_W) {
    const int rem = n - ow < NB_W ? (int)(n - ow) : NB_W; // the last block is masked: rows are often short
    vf a, b, c, d, lo0, hi0, lo1, hi1;
    if (rem == NB_W) {
      lo0 = vload(r0 + 2 * ow); hi0 = vload(r0 + 2 * ow + NB_W);
      lo1 = vload(r1 + 2 * ow); hi1 = vload(r1 + 2 * ow + NB_W);
    } else {
      const int nlo = 2 * rem < NB_W ? 2 * rem : NB_W, nhi = 2 * rem - nlo;
      lo0 = vload_n(r0 + 2 * ow, nlo); lo1 = vload_n(r1 + 2 * ow, nlo);
      hi0 = nhi ? vload_n(r0 + 2 * ow + NB_W, nhi) : vzero();
      hi1 = nhi ? vload_n(r1 + 2 * ow + NB_W, nhi) : vzero();
    }
    vdeinterleave(lo0, hi0, &a, &b);
    vdeinterleave(lo1, hi1, &c, &d);
    const vi col = vi_add(two, vi_set1((int)(2 * ow)));
    const vi i0 = vi_add(col, vi_set1(p0)), i2 = vi_add(col, vi_set1(p1));
    // the reference starts from −∞ at a's position, so starting from a is the same
    vf best = a;
    vi bi = i0;
    vm m = mor(vgt(b, best), visnan(b));
    best = vsel(m, b, best); bi = vi_sel(m, vi_add(i0, one), bi);
    m = mor(vgt(c, best), visnan(c));
    best = vsel(m, c, best); bi = vi_sel(m, i2, bi);
    m = mor(vgt(d, best), visnan(d));
    best = vsel(m, d, best); bi = vi_sel(m, vi_add(i2, one), bi);
    if (rem == NB_W) { vstore(out + ow, best); vi_store(idx + ow, bi); }
    else { vstore_n(out + ow, best, rem); vi_store_n(idx + ow, bi, rem); }
  }
}

// ------------------------------------------------------------------ gemm: packing and the micro-kernel

/** 8×8 transpose: d[k·P + l] = s[l·ls + k] for k, l < 8. */
static inline void tr8x8(const float* s, long ls, float* d, long P) {
  __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ls), r2 = _mm256_loadu_ps(s + 2 * ls),
         r3 = _mm256_loadu_ps(s + 3 * ls), r4 = _mm256_loadu_ps(s + 4 * ls), r5 = _mm256_loadu_ps(s + 5 * ls),
         r6 = _mm256_loadu_ps(s + 6 * ls), r7 = _mm256_loadu_ps(s + 7 * ls);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
         t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
         u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
         u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + P, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * P, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * P, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * P, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * P, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * P, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * P, _mm256_permute2f128_ps(u3, u7, 0x31));
}

static void pack_k(const float* src, long ls, long ks, int L, int P, long kc, float* dst) {
  if (ls == 1) {
    // the panel's lanes are contiguous in memory: one row copy per k
    for (long k = 0; k < kc; k++) {
      const float* s = src + k * ks;
      float* d = dst + k * P;
      int l = 0;
      for (; l + 8 <= L; l += 8) _mm256_storeu_ps(d + l, _mm256_loadu_ps(s + l));
      for (; l < L; l++) d[l] = s[l];
      for (; l < P; l++) d[l] = 0.0f;
    }
    return;
  }
  if (ks == 1) {
    // each lane is a contiguous run along k: transpose 8×8 blocks
    long k = 0;
    for (; k + 8 <= kc; k += 8) {
      int l = 0;
      for (; l + 8 <= L; l += 8) tr8x8(src + l * ls + k, ls, dst + k * P + l, P);
      for (; l < L; l++)
        for (int q = 0; q < 8; q++) dst[(k + q) * P + l] = src[l * ls + k + q];
      for (; l < P; l++)
        for (int q = 0; q < 8; q++) dst[(k + q) * P + l] = 0.0f;
    }
    for (; k < kc; k++) {
      int l = 0;
      for (; l < L; l++) dst[k * P + l] = src[l * ls + k];
      for (; l < P; l++) dst[k * P + l] = 0.0f;
    }
    return;
  }
  for (long k = 0; k < kc; k++) {
    int l = 0;
    for (; l < L; l++) dst[k * P + l] = src[l * ls + k * ks];
    for (; l < P; l++) dst[k * P + l] = 0.0f;
  }
}

/** c[j·ldc + r] (+)= t[r·ld + j] for an 8×8 block: the transposed store of a tile. */
static inline void tr8x8_store(const float* t, long ld, float* c, long ldc, int accumulate) {
  alignas(32) float u[64];
  tr8x8(t, ld, u, 8);
  for (int j = 0; j < 8; j++) {
    __m256 v = _mm256_load_ps(u + 8 * j);
    if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(c + j * ldc));
    _mm256_storeu_ps(c + j * ldc, v);
  }
}

/** C[mr×nr] (= or +=) A-panel · B-panel, accumulators in registers: MR rows × NV vectors.
 *  A(r, k) = ap[k·as + r] for a packed (or transposed) panel; with ROWS, ap[r·as + k] (A read in place).
 *  With TC the tile is stored transposed: element (r, j) goes to c[j·ldc + r]. */
template <int MR, int NV, bool ROWS, bool TC>
static void ukernel_t(long kc, const float* __restrict ap, long as, const float* __restrict bp, long bs, float* c,
                      long ldc, int mr, int nr, int accumulate) {
  vf acc[MR][NV];
#pragma GCC unroll 32
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[r][v] = vzero();
  const long astep = ROWS ? 1 : as;
#pragma GCC unroll 2
  for (long k = 0; k < kc; k++) {
    vf b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = vload(bp + v * NB_W);
#pragma GCC unroll 32
    for (int r = 0; r < MR; r++) {
      vf a = vset1(ROWS ? ap[r * as] : ap[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[r][v] = vfma(a, b[v], acc[r][v]);
    }
    ap += astep;
    bp += bs;
  }
  const bool full = mr == MR && nr == NV * NB_W;
  if (full && !TC) {
#pragma GCC unroll 32
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) {
        float* p = c + r * ldc + v * NB_W;
        vstore(p, accumulate ? vadd(vload(p), acc[r][v]) : acc[r][v]);
      }
    return;
  }
  alignas(64) float t[MR * NV * NB_W];
#pragma GCC unroll 32
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) vstore(t + r * NV * NB_W + v * NB_W, acc[r][v]);
  if (TC) {
    if (full && MR % 8 == 0) {
      for (int r0 = 0; r0 < MR; r0 += 8)
        for (int j0 = 0; j0 < NV * NB_W; j0 += 8) tr8x8_store(t + r0 * NV * NB_W + j0, NV * NB_W, c + j0 * ldc + r0, ldc, accumulate);
      return;
    }
    if (full && MR % 4 == 0) {
      for (int r0 = 0; r0 + 8 <= MR; r0 += 8)
        for (int j0 = 0; j0 < NV * NB_W; j0 += 8) tr8x8_store(t + r0 * NV * NB_W + j0, NV * NB_W, c + j0 * ldc + r0, ldc, accumulate);
      const int r0 = MR - 4; // the last four rows: 4×4 transposes
      for (int j0 = 0; j0 < NV * NB_W; j0 += 4) {
        __m128 a0 = _mm_load_ps(t + r0 * NV * NB_W + j0), a1 = _mm_load_ps(t + (r0 + 1) * NV * NB_W + j0),
               a2 = _mm_load_ps(t + (r0 + 2) * NV * NB_W + j0), a3 = _mm_load_ps(t + (r0 + 3) * NV * NB_W + j0);
        _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
        float* p = c + j0 * ldc + r0;
        if (accumulate) {
          a0 = _mm_add_ps(a0, _mm_loadu_ps(p)); a1 = _mm_add_ps(a1, _mm_loadu_ps(p + ldc));
          a2 = _mm_add_ps(a2, _mm_loadu_ps(p + 2 * ldc)); a3 = _mm_add_ps(a3, _mm_loadu_ps(p + 3 * ldc));
        }
        _mm_storeu_ps(p, a0); _mm_storeu_ps(p + ldc, a1); _mm_storeu_ps(p + 2 * ldc, a2); _mm_storeu_ps(p + 3 * ldc, a3);
      }
      return;
    }
    for (int j = 0; j < nr; j++)
      for (int r = 0; r < mr; r++) c[j * ldc + r] = (accumulate ? c[j * ldc + r] : 0.0f) + t[r * NV * NB_W + j];
    return;
  }
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nr; j++) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.0f) + t[r * NV * NB_W + j];
}

static const nabla::Kernels kTable = {
  NB_ISA_NAME, NB_MR, 2 * NB_W,
  {{{ukernel_t<NB_MR, 2, false, false>, ukernel_t<NB_MR, 1, false, false>},
    {ukernel_t<NB_MR, 2, false, true>, ukernel_t<NB_MR, 1, false, true>}},
   {{ukernel_t<NB_MR, 2, true, false>, ukernel_t<NB_MR, 1, true, false>},
    {ukernel_t<NB_MR, 2, true, true>, ukernel_t<NB_MR, 1, true, true>}}},
  {{ukernel_t<NB_MR / 2, 2, false, false>, ukernel_t<NB_MR / 2, 1, false, false>},
   {ukernel_t<NB_MR / 2, 2, false, true>, ukernel_t<NB_MR / 2, 1, false, true>}},
  pack_k,
  unary_k, binary_k, compare_k, isnan_k, where_k,
  sum_k, sum_rows_k, extreme_k, extreme_rows_k, axpy_k,
  sgd_k, adam_k, act_grad_k, bce_forward_k, bce_backward_k, maxpool2x2_row_k,
};
