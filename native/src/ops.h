// Drivers that apply the ISA kernels to strided N-d views (elementwise, where, copy) and to
// [outer, n, inner] reductions, splitting large work over the thread pool.
#pragma once
#include <stdint.h>

#include "kernels.h"

namespace nabla {

const int MAX_DIMS = 16;

/** An N-d iteration space shared by up to four operands, strides in elements. */
struct Space {
  int nd;
  long shape[MAX_DIMS];
  int nops;
  long strides[4][MAX_DIMS];
};

/** Drop size-1 dims and merge dims that are contiguous for every operand. */
void coalesce(Space& s);
long numel(const Space& s);

/** out (contiguous) = op(x); x is operand 0 of s. */
void ew_unary(const Kernels* k, int op, const float* x, const Space& s, float* out);
/** out (contiguous) = op(a, b): float results for arithmetic codes, bytes for comparisons. */
void ew_binary(const Kernels* k, int op, const float* a, const float* b, const Space& s, void* out);
/** out (contiguous bytes) = isnan(x). */
void ew_isnan(const Kernels* k, const float* x, const Space& s, uint8_t* out);
/** out (contiguous) = c ? a : b; operands 0, 1, 2 of s are c (bytes), a, b. */
void ew_where(const Kernels* k, const uint8_t* c, const float* a, const float* b, const Space& s, float* out);
/** dst = src for two strided views (operand 0 src, operand 1 dst) of floats. */
void ew_copy(const float* src, const Space& s, float* dst);

enum ReduceCode { R_SUM, R_PROD, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN, R_COUNT };
extern const char* const kReduceNames[R_COUNT];

/** Reduce contiguous x seen as [outer, n, inner] along n into out [outer, inner] (int32 for arg codes). */
void reduce(const Kernels* k, int op, const float* x, long outer, long n, long inner, void* out);

/** Fused optimizer steps over n contiguous elements, split over the pool when large. */
void sgd_step(const Kernels* k, const SgdParams& q, float* p, const float* g, float* buf, long n);
void adam_step(const Kernels* k, const AdamParams& q, float* p, const float* g, float* m, float* v, float* vmax, long n);

/** Fused activation gradient (op 0 sigmoid, 1 tanh) and binary cross-entropy terms and input gradient over
 *  strided views (operands in the order of the arguments); ew_bce_forward returns the first position whose p
 *  is outside [0, 1], or −1. */
void ew_act_grad(const Kernels* k, int op, const float* y, const float* g, const Space& s, float* out);
long ew_bce_forward(const Kernels* k, const float* p, const float* y, const Space& s, float* out);
void ew_bce_backward(const Kernels* k, const float* p, const float* y, const float* g, const Space& s, float* out);

/** Batch norm over x [N, C, S] (a Space of rank 3: operand 0 x, operand 1 g), float64 statistics, as the
 *  reference backend: per-channel mean and biased variance (two passes); out = x·scale[c] + shift[c];
 *  the input gradient from batch statistics (sums[c] = Σg, sums[C + c] = Σg·x̂; out may be null). */
void batch_norm_stats(const float* x, const Space& s, double* mean, double* var);
void channel_affine(const float* x, const Space& s, const double* scale, const double* shift, float* out);
void batch_norm_backward(const float* x, const float* g, const Space& s, const double* mean, const double* inv_std,
                         const double* scale, double* sums, float* out);

/** Dataset batches: out[k·row + j] = table[src[rows[k]·row + j]] (bytes decoded through a 256-entry table). */
void gather_rows_u8(const uint8_t* src, long row, const int32_t* rows, long count, const float* table, float* out);

void ew_set_parallel_threshold(long elements);
long ew_parallel_threshold();

} // namespace nabla
