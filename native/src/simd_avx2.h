// AVX2 + FMA vector primitives (8 floats) for kernels_impl.h. Compiled only into kernels_avx2.cc.
#pragma once
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define NB_MR 6 // gemm micro-tile rows (NR = 2·NB_W columns)
#define NB_W 8
#define NB_ISA_NAME "avx2"

typedef __m256 vf;
typedef __m256i vi;
typedef __m256 vm; // all-ones lanes where true

static inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
static inline void vstore(float* p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vset1(float x) { return _mm256_set1_ps(x); }
static inline vf vzero() { return _mm256_setzero_ps(); }
static inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vfnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
static inline vf vmax_raw(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vmin_raw(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf vsqrt(vf a) { return _mm256_sqrt_ps(a); }
static inline vf vfloor(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
static inline vf vceil(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); }
static inline vf vrint(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vand(vf a, vf b) { return _mm256_and_ps(a, b); }
static inline vf vxor(vf a, vf b) { return _mm256_xor_ps(a, b); }
static inline vf vor(vf a, vf b) { return _mm256_or_ps(a, b); }

static inline vm vlt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline vm vle(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
static inline vm vgt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline vm vge(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
static inline vm veq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
static inline vm vne(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
static inline vm visnan(vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
static inline vm mor(vm a, vm b) { return _mm256_or_ps(a, b); }
static inline vm mand(vm a, vm b) { return _mm256_and_ps(a, b); }
static inline bool many(vm a) { return _mm256_movemask_ps(a) != 0; }
static inline vf vsel(vm m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }

static inline vi vcvt_f2i(vf a) { return _mm256_cvtps_epi32(a); }
static inline vf vcvt_i2f(vi a) { return _mm256_cvtepi32_ps(a); }
static inline vi vi_add(vi a, vi b) { return _mm256_add_epi32(a, b); }
static inline vi vi_sub(vi a, vi b) { return _mm256_sub_epi32(a, b); }
static inline vi vi_set1(int x) { return _mm256_set1_epi32(x); }
static inline vi vi_slli23(vi a) { return _mm256_slli_epi32(a, 23); }
static inline vi vi_srli23(vi a) { return _mm256_srli_epi32(a, 23); }
static inline vi vi_and(vi a, vi b) { return _mm256_and_si256(a, b); }
static inline vi vi_or(vi a, vi b) { return _mm256_or_si256(a, b); }
static inline vi vi_srai1(vi a) { return _mm256_srai_epi32(a, 1); }
static inline vf vasf(vi a) { return _mm256_castsi256_ps(a); }
static inline vi vasi(vf a) { return _mm256_castps_si256(a); }

static inline void mstore_u8(uint8_t* p, vm m) {
  int bits = _mm256_movemask_ps(m);
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)((bits >> i) & 1);
}
static inline vm mload_u8(const uint8_t* p) {
  __m128i b = _mm_loadl_epi64((const __m128i*)p);
  __m256i w = _mm256_cvtepu8_epi32(b);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(w, _mm256_setzero_si256()));
}

static inline float vhsum(vf a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline float vhmax(vf a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline float vhmin(vf a) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  s = _mm_min_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline vf vload_n(const float* p, int n) {
  alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  memcpy(t, p, (size_t)n * 4);
  return _mm256_load_ps(t);
}
static inline void vstore_n(float* p, vf v, int n) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  memcpy(p, t, (size_t)n * 4);
}

/** Even and odd lanes of the 2·W values lo ‖ hi. */
static inline void vdeinterleave(vf lo, vf hi, vf* even, vf* odd) {
  // shuffle within 128-bit lanes, then put the 64-bit pairs in order
  __m256 e = _mm256_shuffle_ps(lo, hi, 0x88), o = _mm256_shuffle_ps(lo, hi, 0xDD);
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8));
}
static inline vi vi_sel(vm m, vi a, vi b) { return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(b), _mm256_castsi256_ps(a), m)); }
static inline vi vi_iota() { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
static inline void vi_store(int32_t* p, vi v) { _mm256_storeu_si256((__m256i*)p, v); }
static inline void vi_store_n(int32_t* p, vi v, int n) {
  alignas(32) int32_t t[8];
  _mm256_store_si256((__m256i*)t, v);
  memcpy(p, t, (size_t)n * 4);
}

static inline void vprefetch(const void* p) { _mm_prefetch((const char*)p, _MM_HINT_T0); }
