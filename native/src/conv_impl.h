// ISA-specific kernels of the direct convolution (stride 1, no dilation, no padding), used when C·kh·kw is too
// small for a product to pay (the first layer of an image network: 1 channel, 3×3). Included into
// kernels_avx2.cc and kernels_avx512.cc after kernels_impl.h, inside each ISA's namespace, so the vector
// primitives of simd_avx2.h / simd_avx512.h are in scope.

/** The first n lanes from p (all of them when n is the width). */
static inline vf conv_load(const float* p, int n) { return n == NB_W ? vload(p) : vload_n(p, n); }

/** out[oh, ow] = bias + Σ_{c,i,j} w[(c·kh + i)·kw + j] · x[c, oh + i, ow + j] over one output plane (OH × OW,
 *  contiguous); x rows contiguous, channel stride sC and row stride sH. */
static void conv_direct_plane_k(const float* x, long sC, long sH, long C, long kh, long kw, long OH, long OW,
                                const float* w, float bias, float* out) {
  for (long oh = 0; oh < OH; oh++) {
    float* o = out + oh * OW;
    for (long ow = 0; ow < OW; ow += NB_W) {
      const int n = OW - ow < NB_W ? (int)(OW - ow) : NB_W;
      vf acc = vset1(bias);
      const float* wt = w;
      for (long c = 0; c < C; c++) {
        for (long i = 0; i < kh; i++) {
          const float* xr = x + c * sC + (oh + i) * sH + ow;
          for (long j = 0; j < kw; j++) acc = vfma(vset1(*wt++), conv_load(xr + j, n), acc);
        }
      }
      if (n == NB_W) vstore(o + ow, acc);
      else vstore_n(o + ow, acc, n);
    }
  }
}

/** Every output plane of one image for a window of T ≤ 9 taps (c, i, j) at offsets off[t] = c·sC + i·sH + j: the
 *  taps' input vectors are loaded once per output vector and reused by all O output channels (w [O, T]). */
template <int T>
static void conv_direct_image_t(const float* x, long sH, const long* off, long OH, long OW, const float* w, long O,
                                const float* bias, float* out) {
  const long plane = OH * OW;
  for (long oh = 0; oh < OH; oh++) {
    for (long ow = 0; ow < OW; ow += NB_W) {
      const int n = OW - ow < NB_W ? (int)(OW - ow) : NB_W;
      const float* xr = x + oh * sH + ow;
      vf X[T];
      for (int t = 0; t < T; t++) X[t] = conv_load(xr + off[t], n);
      float* o = out + oh * OW + ow;
      for (long q = 0; q < O; q++, o += plane) {
        const float* wq = w + q * T;
        vf acc = vset1(bias ? bias[q] : 0.0f);
        for (int t = 0; t < T; t++) acc = vfma(vset1(wq[t]), X[t], acc);
        if (n == NB_W) vstore(o, acc);
        else vstore_n(o, acc, n);
      }
    }
  }
}

/** The input offsets of a window's C·kh·kw taps (channel stride sC, row stride sH) into off[9]; their count, or 0
 *  when the window has more than 9 taps. */
static int window_taps(long sC, long sH, long C, long kh, long kw, long* off) {
  if (C * kh * kw > 9) return 0;
  int T = 0;
  for (long c = 0; c < C; c++)
    for (long i = 0; i < kh; i++)
      for (long j = 0; j < kw; j++) off[T++] = c * sC + i * sH + j;
  return T;
}

/** conv_direct_image_t for C·kh·kw ≤ 9; false (nothing written) for a larger window. out is [O, OH, OW]. */
static bool conv_direct_image_k(const float* x, long sC, long sH, long C, long kh, long kw, long OH, long OW,
                                const float* w, long O, const float* bias, float* out) {
  long off[9];
  const int T = window_taps(sC, sH, C, kh, kw, off);
  if (T == 0) return false;
  switch (T) {
    case 1: conv_direct_image_t<1>(x, sH, off, OH, OW, w, O, bias, out); break;
    case 2: conv_direct_image_t<2>(x, sH, off, OH, OW, w, O, bias, out); break;
    case 3: conv_direct_image_t<3>(x, sH, off, OH, OW, w, O, bias, out); break;
    case 4: conv_direct_image_t<4>(x, sH, off, OH, OW, w, O, bias, out); break;
    case 5: conv_direct_image_t<5>(x, sH, off, OH, OW, w, O, bias, out); break;
    case 6: conv_direct_image_t<6>(x, sH, off, OH, OW, w, O, bias, out); break;
    case 7: conv_direct_image_t<7>(x, sH, off, OH, OW, w, O, bias, out); break;
    case 8: conv_direct_image_t<8>(x, sH, off, OH, OW, w, O, bias, out); break;
    default: conv_direct_image_t<9>(x, sH, off, OH, OW, w, O, bias, out); break;
  }
  return true;
}

/** Output channels handled together by the weight gradient's image kernel (their accumulators in registers). */
#if NB_W == 16
#define NB_WG_OB 2
#else
#define NB_WG_OB 1
#endif

/** Vector partial sums of one image's share of the weight gradient: acc[(q·(T + 1) + t)·NB_W + lane] +=
 *  Σ_{oh,ow} g[q, oh, ow] · x[off[t] + oh·sH + ow] for t < T, and Σ g[q] at t = T (summed over lanes later, so no
 *  horizontal sums per image). NB_WG_OB channels at a time, every input vector loaded once per pass. */
template <int T>
static void conv_direct_wgrad_image_t(const float* x, long sH, const long* off, long OH, long OW, const float* g,
                                      long sgO, long sgH, long O, float* accp) {
  long q = 0;
  for (; q + NB_WG_OB <= O; q += NB_WG_OB) {
    vf acc[NB_WG_OB][T + 1];
    for (int b = 0; b < NB_WG_OB; b++)
      for (int t = 0; t <= T; t++) acc[b][t] = vload(accp + ((q + b) * (T + 1) + t) * NB_W);
    for (long oh = 0; oh < OH; oh++) {
      const float* xr = x + oh * sH;
      for (long ow = 0; ow < OW; ow += NB_W) {
        const int n = OW - ow < NB_W ? (int)(OW - ow) : NB_W;
        vf G[NB_WG_OB];
        for (int b = 0; b < NB_WG_OB; b++) {
          G[b] = conv_load(g + (q + b) * sgO + oh * sgH + ow, n);
          acc[b][T] = vadd(acc[b][T], G[b]);
        }
        for (int t = 0; t < T; t++) {
          const vf X = conv_load(xr + off[t] + ow, n);
          for (int b = 0; b < NB_WG_OB; b++) acc[b][t] = vfma(G[b], X, acc[b][t]);
        }
      }
    }
    for (int b = 0; b < NB_WG_OB; b++)
      for (int t = 0; t <= T; t++) vstore(accp + ((q + b) * (T + 1) + t) * NB_W, acc[b][t]);
  }
  for (; q < O; q++) { // the last channels one at a time
    vf acc[T + 1];
    for (int t = 0; t <= T; t++) acc[t] = vload(accp + (q * (T + 1) + t) * NB_W);
    for (long oh = 0; oh < OH; oh++) {
      for (long ow = 0; ow < OW; ow += NB_W) {
        const int n = OW - ow < NB_W ? (int)(OW - ow) : NB_W;
        const vf G = conv_load(g + q * sgO + oh * sgH + ow, n);
        acc[T] = vadd(acc[T], G);
        for (int t = 0; t < T; t++) acc[t] = vfma(G, conv_load(x + oh * sH + off[t] + ow, n), acc[t]);
      }
    }
    for (int t = 0; t <= T; t++) vstore(accp + (q * (T + 1) + t) * NB_W, acc[t]);
  }
}

/** conv_direct_wgrad_image_t for C·kh·kw ≤ 9 (false, nothing added, otherwise); g [O, OH, OW] with channel stride
 *  sgO and row stride sgH, rows contiguous; acc [O, T + 1, NB_W], 64-byte aligned. */
static bool conv_direct_wgrad_image_k(const float* x, long sC, long sH, long C, long kh, long kw, long OH, long OW,
                                      const float* g, long sgO, long sgH, long O, float* acc) {
  long off[9];
  const int T = window_taps(sC, sH, C, kh, kw, off);
  if (T == 0) return false;
  switch (T) {
    case 1: conv_direct_wgrad_image_t<1>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
    case 2: conv_direct_wgrad_image_t<2>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
    case 3: conv_direct_wgrad_image_t<3>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
    case 4: conv_direct_wgrad_image_t<4>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
    case 5: conv_direct_wgrad_image_t<5>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
    case 6: conv_direct_wgrad_image_t<6>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
    case 7: conv_direct_wgrad_image_t<7>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
    case 8: conv_direct_wgrad_image_t<8>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
    default: conv_direct_wgrad_image_t<9>(x, sH, off, OH, OW, g, sgO, sgH, O, acc); break;
  }
  return true;
}

/** acc[j] += Σ_{oh,ow} g[oh, ow] · xr[oh·sH + ow + j] for j < KW: one kernel row's taps, two rows of g at a time
 *  into separate accumulators (2·KW independent chains hide the FMA latency). */
template <int KW>
static void wgrad_taps(const float* x, long sH, long OH, long OW, const float* g, long sgH, double* out) {
  vf a[2][KW];
  for (int j = 0; j < KW; j++) a[0][j] = a[1][j] = vzero();
  for (long oh = 0; oh < OH; oh++) {
    const float* gr = g + oh * sgH;
    const float* xr = x + oh * sH;
    vf* acc = a[oh & 1];
    for (long ow = 0; ow < OW; ow += NB_W) {
      const int n = OW - ow < NB_W ? (int)(OW - ow) : NB_W;
      const vf gv = conv_load(gr + ow, n);
      for (int j = 0; j < KW; j++) acc[j] = vfma(gv, conv_load(xr + ow + j, n), acc[j]);
    }
  }
  for (int j = 0; j < KW; j++) out[j] += vhsum(vadd(a[0][j], a[1][j]));
}

/** gw[(c·kh + i)·kw + j] += Σ_{oh,ow} g[oh, ow] · x[c, oh + i, ow + j] and *gb += Σ g over one plane of the
 *  output gradient g (row stride sgH, rows contiguous); sums in float vectors, added into double. */
static void conv_direct_wgrad_plane_k(const float* x, long sC, long sH, long C, long kh, long kw, long OH, long OW,
                                      const float* g, long sgH, double* gw, double* gb) {
  vf s0 = vzero(), s1 = vzero();
  for (long oh = 0; oh < OH; oh++) {
    const float* gr = g + oh * sgH;
    for (long ow = 0; ow < OW; ow += NB_W) {
      const vf v = conv_load(gr + ow, OW - ow < NB_W ? (int)(OW - ow) : NB_W);
      if (oh & 1) s1 = vadd(s1, v); else s0 = vadd(s0, v);
    }
  }
  *gb += vhsum(vadd(s0, s1));
  for (long c = 0; c < C; c++) {
    for (long i = 0; i < kh; i++) {
      const float* xr = x + c * sC + i * sH;
      double* out = gw + (c * kh + i) * kw;
      switch (kw) {
        case 1: wgrad_taps<1>(xr, sH, OH, OW, g, sgH, out); break;
        case 2: wgrad_taps<2>(xr, sH, OH, OW, g, sgH, out); break;
        case 3: wgrad_taps<3>(xr, sH, OH, OW, g, sgH, out); break;
        case 4: wgrad_taps<4>(xr, sH, OH, OW, g, sgH, out); break;
        case 5: wgrad_taps<5>(xr, sH, OH, OW, g, sgH, out); break;
        default:
          for (long j = 0; j < kw; j++) wgrad_taps<1>(xr + j, sH, OH, OW, g, sgH, out + j);
      }
    }
  }
}

/** im2col of one image whose windows never leave the image sideways (stride 1 along rows, no left padding,
 *  (OW − 1) + (kw − 1)·dw < W, rows contiguous): rows (c, i, j) of cols (leading dimension ld) from x[c, ih, j·dw + ow],
 *  zeros for the output rows whose input row lies in the vertical padding. Rows are copied with full-width stores
 *  that spill into the next row (rewritten next), the last of each block masked. */
static void im2col_image_plain_k(const float* x, long sC, long sH, long C, long kh, long kw, long dh, long dw, long sh,
                                 long padTop, long H, long OH, long OW, float* cols, long ld) {
  for (long c = 0; c < C; c++) {
    for (long i = 0; i < kh; i++) {
      const long ih0 = i * dh - padTop; // input row of output row 0
      long oh0 = ih0 >= 0 ? 0 : (-ih0 + sh - 1) / sh, oh1 = ih0 >= H ? 0 : (H - 1 - ih0) / sh + 1;
      if (oh1 > OH) oh1 = OH;
      if (oh0 > oh1) oh0 = oh1;
      for (long j = 0; j < kw; j++) {
        float* dst = cols + ((c * kh + i) * kw + j) * ld;
        const float* src = x + c * sC + (ih0 + oh0 * sh) * sH + j * dw;
        __builtin_memset(dst, 0, sizeof(float) * (size_t)(oh0 * OW));
        for (long oh = oh0; oh < oh1; oh++, src += sh * sH) {
          float* d = dst + oh * OW;
          long w = 0;
          for (; w + NB_W <= OW; w += NB_W) vstore(d + w, vload(src + w));
          if (w < OW) {
            const int n = (int)(OW - w);
            if (oh + 1 < oh1) vstore(d + w, vload_n(src + w, n)); // the spill lands in the next row, written next
            else vstore_n(d + w, vload_n(src + w, n), n);
          }
        }
        __builtin_memset(dst + oh1 * OW, 0, sizeof(float) * (size_t)((OH - oh1) * OW));
      }
    }
  }
}

/** dst[r·width + w] = src[r·ss + w] for r < rows, w < width: im2col's rows, too short for memcpy calls to pay. */
static void copy_rows_k(const float* src, long ss, long rows, long width, float* dst) {
  for (long r = 0; r < rows; r++, src += ss, dst += width) {
    long w = 0;
    for (; w + NB_W <= width; w += NB_W) vstore(dst + w, vload(src + w));
#if NB_W == 16
    if (w < width) vstore_n(dst + w, vload_n(src + w, (int)(width - w)), (int)(width - w));
#else
    for (; w < width; w++) dst[w] = src[w];
#endif
  }
}

/** Lanes [lo, hi) of p[0 … NB_W) and zeros elsewhere; the other lanes are never read. */
static inline vf conv_load_range(const float* p, int lo, int hi) {
#if NB_W == 16
  return _mm512_maskz_loadu_ps((__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)), p);
#else
  alignas(32) float t[NB_W] = {0};
  for (int l = lo; l < hi; l++) t[l] = p[l];
  return vload(t);
#endif
}

/** One plane of col2im at stride 1: out[ih, iw] = Σ over taps (i, j) of cols[(i·kw + j)·L + oh·OW + ow] with
 *  ih = oh − padTop + i·dh, iw = ow − padLeft + j·dw (cols: this channel's kh·kw rows of OH·OW). Every output
 *  vector is summed in a register and stored once, so the plane needs no clearing. */
static void col2im_plane_s1_k(const float* cols, long kh, long kw, long dh, long dw, long padTop, long padLeft,
                              long OH, long OW, long H, long W, float* out) {
  const long L = OH * OW;
  for (long ih = 0; ih < H; ih++) {
    for (long iw0 = 0; iw0 < W; iw0 += NB_W) {
      const int n = W - iw0 < NB_W ? (int)(W - iw0) : NB_W;
      vf acc = vzero();
      for (long i = 0; i < kh; i++) {
        const long oh = ih + padTop - i * dh;
        if (oh < 0 || oh >= OH) continue;
        for (long j = 0; j < kw; j++) {
          const long start = j * dw - padLeft; // ow = iw − start
          long lo = start > iw0 ? start - iw0 : 0, hi = OW + start - iw0;
          if (hi > n) hi = n;
          if (lo >= hi) continue;
          acc = vadd(acc, conv_load_range(cols + (i * kw + j) * L + oh * OW + iw0 - start, (int)lo, (int)hi));
        }
      }
      if (n == NB_W) vstore(out + ih * W + iw0, acc);
      else vstore_n(out + ih * W + iw0, acc, n);
    }
  }
}

/** One pair of input rows (r0, r1: rows 2·oh and 2·oh + 1, r0 at plane position p0) of the backward of 2×2
 *  stride-2 max pooling, written in full for columns [0, 2n): each block gets g[ow] at its index idx[ow] and zeros
 *  elsewhere. False when an index lies outside its block (then the rows are part-written). */
static bool maxpool2x2_back_row_k(const float* g, const int32_t* idx, long n, long p0, long W, float* r0, float* r1) {
#if NB_W == 16
  const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  bool ok = true;
  for (long ow = 0; ow < n; ow += 8) {
    const int rem = n - ow < 8 ? (int)(n - ow) : 8;
    const __mmask8 m8 = (__mmask8)((1u << rem) - 1);
    const __mmask16 lanes = (__mmask16)((1u << (2 * rem)) - 1);
    const __m512 gv = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(m8, g + ow)));
    const __m512i k = _mm512_sub_epi32(_mm512_permutexvar_epi32(dup, _mm512_castsi256_si512(_mm256_maskz_loadu_epi32(m8, idx + ow))),
                                       _mm512_set1_epi32((int)(p0 + 2 * ow)));
    const __mmask16 m0 = _mm512_cmpeq_epi32_mask(k, iota), m1 = _mm512_cmpeq_epi32_mask(k, _mm512_add_epi32(iota, _mm512_set1_epi32((int)W)));
    const unsigned hit = (unsigned)(m0 | m1);
    ok &= ((hit | (hit >> 1)) & 0x5555u & lanes) == (0x5555u & lanes);
    _mm512_mask_storeu_ps(r0 + 2 * ow, lanes, _mm512_maskz_mov_ps(m0, gv));
    _mm512_mask_storeu_ps(r1 + 2 * ow, lanes, _mm512_maskz_mov_ps(m1, gv));
  }
  return ok;
#else
  bool ok = true;
  for (long ow = 0; ow < n; ow++) { // branch-free: random positions would mispredict
    const long k = idx[ow] - p0 - 2 * ow, hi = k >= W, col = k - hi * W;
    ok &= (unsigned long)col <= 1;
    r0[2 * ow] = r0[2 * ow + 1] = r1[2 * ow] = r1[2 * ow + 1] = 0.0f;
    r0[hi * W + 2 * ow + (col & 1)] = g[ow];
  }
  return ok;
#endif
}

/** A plane of 2×2 stride-2 max pooling, rows contiguous (row stride sH, W columns, windows inside): the row kernel
 *  of kernels_impl.h over every output row, inlined. */
static void maxpool2x2_plane_k(const float* x, long sH, long OH, long OW, long W, float* out, int32_t* idx) {
  for (long oh = 0; oh < OH; oh++) {
    const long h0 = 2 * oh;
    maxpool2x2_row_k(x + h0 * sH, x + (h0 + 1) * sH, OW, (int32_t)(h0 * W), (int32_t)((h0 + 1) * W), out + oh * OW, idx + oh * OW);
  }
}

/** A plane [H, W] of 2×2 stride-2 max pooling's backward (2·OH ≤ H, 2·OW ≤ W), written in full: the row pairs by
 *  maxpool2x2_back_row_k, zeros past the last window. False when an index lies outside its block. */
static bool maxpool2x2_back_plane_k(const float* g, long sgH, const int32_t* idx, long OH, long OW, long H, long W, float* out) {
  for (long oh = 0; oh < OH; oh++) {
    float* r0 = out + 2 * oh * W;
    if (!maxpool2x2_back_row_k(g + oh * sgH, idx + oh * OW, OW, 2 * oh * W, W, r0, r0 + W)) return false;
    for (long w = 2 * OW; w < W; w++) r0[w] = r0[W + w] = 0.0f;
  }
  __builtin_memset(out + 2 * OH * W, 0, sizeof(float) * (size_t)((H - 2 * OH) * W));
  return true;
}

static const nabla::ConvKernels kConvTable = {NB_W, conv_direct_plane_k, conv_direct_wgrad_plane_k, copy_rows_k,
                                              conv_direct_image_k, conv_direct_wgrad_image_k, col2im_plane_s1_k,
                                              maxpool2x2_back_plane_k, im2col_image_plain_k,
                                              maxpool2x2_plane_k};
