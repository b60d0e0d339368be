// Blocked, packed matrix multiply (BLIS-style) on top of an ISA's micro-kernel, threaded by the pool.
#pragma once
#include "kernels.h"

namespace nabla {

/** C[b] = op(A[b]) · op(B[b]) for b < batch. A(i, k) = a[i·lda + k], or a[k·lda + i] when ta; likewise B.
 *  C is contiguous [batch, M, N]. */
void gemm(const Kernels* kern, long batch, long M, long N, long K, const float* a, long lda, bool ta, long abs_,
          const float* b, long ldb, bool tb, long bbs, float* c);

/** Work (in flops, 2·M·N·K) below which a product runs on the calling thread alone. */
void gemm_set_parallel_threshold(double flops);
double gemm_parallel_threshold();
/** The k-block and the tile width in columns (0 leaves one unchanged). */
void gemm_set_blocking(long kc, long nc);
long gemm_kc();
long gemm_nc();

} // namespace nabla
