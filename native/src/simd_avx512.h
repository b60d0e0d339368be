// AVX-512 vector primitives (16 floats) for kernels_impl.h. Compiled only into kernels_avx512.cc.
#pragma once
#include <immintrin.h>
#include <stdint.h>

#define NB_MR 8 // gemm micro-tile rows (NR = 2·NB_W columns)
#define NB_W 16
#define NB_ISA_NAME "avx512"

typedef __m512 vf;
typedef __m512i vi;
typedef __mmask16 vm;

static inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
static inline void vstore(float* p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vset1(float x) { return _mm512_set1_ps(x); }
static inline vf vzero() { return _mm512_setzero_ps(); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }   // a·b + c
static inline vf vfnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); } // c − a·b
static inline vf vmax_raw(vf a, vf b) { return _mm512_max_ps(a, b); }          // b if either is NaN
static inline vf vmin_raw(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf vsqrt(vf a) { return _mm512_sqrt_ps(a); }
static inline vf vfloor(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
static inline vf vceil(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); }
static inline vf vrint(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vand(vf a, vf b) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b))); }
static inline vf vxor(vf a, vf b) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_castps_si512(b))); }
static inline vf vor(vf a, vf b) { return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b))); }

static inline vm vlt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vm vle(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
static inline vm vgt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vm vge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
static inline vm veq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vm vne(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
static inline vm visnan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
static inline vm mor(vm a, vm b) { return (vm)(a | b); }
static inline vm mand(vm a, vm b) { return (vm)(a & b); }
static inline bool many(vm a) { return a != 0; }
/** m ? a : b, lane by lane. */
static inline vf vsel(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }

static inline vi vcvt_f2i(vf a) { return _mm512_cvtps_epi32(a); } // round to nearest
static inline vf vcvt_i2f(vi a) { return _mm512_cvtepi32_ps(a); }
static inline vi vi_add(vi a, vi b) { return _mm512_add_epi32(a, b); }
static inline vi vi_sub(vi a, vi b) { return _mm512_sub_epi32(a, b); }
static inline vi vi_set1(int x) { return _mm512_set1_epi32(x); }
static inline vi vi_slli23(vi a) { return _mm512_slli_epi32(a, 23); }
static inline vi vi_srli23(vi a) { return _mm512_srli_epi32(a, 23); }
static inline vi vi_and(vi a, vi b) { return _mm512_and_si512(a, b); }
static inline vi vi_or(vi a, vi b) { return _mm512_or_si512(a, b); }
static inline vi vi_srai1(vi a) { return _mm512_srai_epi32(a, 1); }
static inline vf vasf(vi a) { return _mm512_castsi512_ps(a); }
static inline vi vasi(vf a) { return _mm512_castps_si512(a); }

/** Store a mask as W bytes of 0/1. */
static inline void mstore_u8(uint8_t* p, vm m) { _mm_storeu_si128((__m128i*)p, _mm_maskz_mov_epi8(m, _mm_set1_epi8(1))); }
/** W bytes → mask of the nonzero ones. */
static inline vm mload_u8(const uint8_t* p) { return _mm_test_epi8_mask(_mm_loadu_si128((const __m128i*)p), _mm_set1_epi8(-1)); }

static inline float vhsum(vf a) { return _mm512_reduce_add_ps(a); }
static inline float vhmax(vf a) { return _mm512_reduce_max_ps(a); }
static inline float vhmin(vf a) { return _mm512_reduce_min_ps(a); }

/** The first n (< W) lanes from p, zeros elsewhere; and the masked store back. */
static inline vf vload_n(const float* p, int n) { return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p); }
static inline void vstore_n(float* p, vf v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), v); }

/** Even and odd lanes of the 2·W values lo ‖ hi. */
static inline void vdeinterleave(vf lo, vf hi, vf* even, vf* odd) {
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  *even = _mm512_permutex2var_ps(lo, ie, hi);
  *odd = _mm512_permutex2var_ps(lo, io, hi);
}
static inline vi vi_sel(vm m, vi a, vi b) { return _mm512_mask_blend_epi32(m, b, a); }
static inline vi vi_iota() { return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
static inline void vi_store(int32_t* p, vi v) { _mm512_storeu_si512((void*)p, v); }
static inline void vi_store_n(int32_t* p, vi v, int n) { _mm512_mask_storeu_epi32((void*)p, (__mmask16)((1u << n) - 1), v); }

static inline void vprefetch(const void* p) { _mm_prefetch((const char*)p, _MM_HINT_T0); }
