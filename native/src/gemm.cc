// The gemm driver (BLIS-style): op(A) in MR-row panels and op(B) in NR-column panels for every block of KC
// along k, then the micro-kernel over tiles of C. A panel is packed into a contiguous buffer unless its
// operand already has the panel's layout (Aᵀ stored row-major: MR contiguous values per k; B stored
// row-major: NR contiguous values per k; A stored row-major is read through MR row pointers), in which
// case the kernel reads it in place; partial edge panels
// are always packed (zero-padded), so no read goes past the operand. Packing and tiles are pool tasks.
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

#include "pool.h"

namespace nabla {
namespace {

long KC_MAX = 256;   // k-block: an MR×KC A panel and a KC×NR B panel (40 KB on AVX-512) fit in L1
long NC_COLS = 512;  // columns per tile: a KC×NC block of B panels stays in L2

/** NABLA_GEMM_KC / NABLA_GEMM_NC override the blocking (for tuning on other CPUs). */
struct BlockingFromEnv {
  BlockingFromEnv() {
    const char* kc = getenv("NABLA_GEMM_KC");
    const char* nc = getenv("NABLA_GEMM_NC");
    if (kc && atol(kc) >= 16) KC_MAX = atol(kc);
    if (nc && atol(nc) >= 64) NC_COLS = atol(nc);
  }
} blocking_from_env;
double parallel_flops = 1 << 20;

struct Buf {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      free(p);
      size_t bytes = ((n * sizeof(float)) + 63) & ~(size_t)63;
      p = static_cast<float*>(aligned_alloc(64, bytes ? bytes : 64));
      cap = p ? n : 0;
    }
    return p;
  }
  ~Buf() { free(p); }
};
thread_local Buf buf_a, buf_b;

struct Plan {
  const Kernels* k;
  long M, N, K;
  const float* a; long ars, acs; // A(i, k) = a[i·ars + k·acs]
  const float* b; long brs, bcs; // B(k, j) = b[k·brs + j·bcs]
  float* c; long ldc;
  bool trans_c;                  // C(i, j) is stored at c[j·ldc + i] (the product was computed as (BᵀAᵀ)ᵀ)
  int MR, NR;
  long mp, np;
  int last_w;                    // packed width of the last column panel (NR or NR/2)
  long kc0, nkb;                 // k-block size and count
  bool rows_a;                   // A read in place is row-major (A(i, k) = a[i·ars + k]), else lanes along i
  long pa0, pb0;                 // first packed panel of A and of B (panels before them are read in place)
  long Mpad, Npad;               // packed rows / columns per k (packed panels only)
  float* Ap; float* Bp;
  long tm, tn, mpt, npt;         // tile grid: tm × tn tiles of mpt row panels × npt column panels
};

/** A leading dimension whose rows alias in the L1 cache (a multiple of 1 KiB) is better packed. */
inline bool aliasing(long ld) { return ld % 256 == 0; }

/** Elements that must be packed for A(i, k) = a[i·ars + k·acs] (M × K) and B(k, j) = b[k·brs + j·bcs] (K × N). */
inline long pack_cost(long M, long N, long K, long ars, long acs, long brs, long bcs) {
  bool da = (ars == 1 && !aliasing(acs)) || (acs == 1 && !aliasing(ars));
  bool db = bcs == 1 && !aliasing(brs);
  return (da ? 0 : M * K) + (db ? 0 : N * K);
}

/** C = A·B with generic strides; C(i, j) at c[i·ldc + j], or at c[j·ldc + i] when trans_c. */
void plan_setup(Plan& p, const Kernels* k, long M, long N, long K, const float* a, long ars, long acs, const float* b,
                long brs, long bcs, float* c, long ldc, bool trans_c) {
  p.k = k; p.M = M; p.N = N; p.K = K;
  p.a = a; p.ars = ars; p.acs = acs;
  p.b = b; p.brs = brs; p.bcs = bcs;
  p.c = c; p.ldc = ldc; p.trans_c = trans_c;
  p.MR = k->mr; p.NR = k->nr;
  p.mp = (M + p.MR - 1) / p.MR;
  p.np = (N + p.NR - 1) / p.NR;
  long rem = N - (p.np - 1) * p.NR;
  p.last_w = rem <= p.NR / 2 ? p.NR / 2 : p.NR;
  p.nkb = (K + KC_MAX - 1) / KC_MAX;
  p.kc0 = (K + p.nkb - 1) / p.nkb;
  // A in place: lanes contiguous along i (a packed panel's layout) or rows contiguous along k;
  // B in place: rows contiguous along j. Only partial edge panels are then packed.
  bool lanes_a = ars == 1 && !aliasing(acs);
  p.rows_a = !lanes_a && acs == 1 && !aliasing(ars);
  bool direct_a = lanes_a || p.rows_a;
  bool direct_b = bcs == 1 && !aliasing(brs);
  p.pa0 = direct_a ? M / p.MR : 0;
  p.pb0 = direct_b ? N / p.NR : 0;
  p.Mpad = (p.mp - p.pa0) * p.MR;
  p.Npad = p.np > p.pb0 ? (p.np - 1 - p.pb0) * p.NR + p.last_w : 0;
}

/** C = op(A)·op(B), computed directly or as Cᵀ = op(B)ᵀ·op(A)ᵀ, whichever packs fewer elements. */
void plan_init(Plan& p, const Kernels* k, long M, long N, long K, const float* a, long lda, bool ta, const float* b,
               long ldb, bool tb, float* c) {
  long ars = ta ? 1 : lda, acs = ta ? lda : 1, brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
  long direct = pack_cost(M, N, K, ars, acs, brs, bcs);
  // swapped: A' = op(B)ᵀ (N × K): A'(i, k) = B(k, i); B' = op(A)ᵀ (K × M): B'(k, j) = A(j, k)
  long swapped = pack_cost(N, M, K, bcs, brs, acs, ars);
  if (swapped < direct) plan_setup(p, k, N, M, K, b, bcs, brs, a, acs, ars, c, N, true);
  else plan_setup(p, k, M, N, K, a, ars, acs, b, brs, bcs, c, N, false);
}

/** Packed panel i of A covers rows r0 … r0+MR; its k-block kb starts at Ap + k0·Mpad + (i − pa0)·MR·kc. */
void pack_a_panel(const Plan& p, long i) {
  long r0 = i * p.MR;
  int L = (int)(p.M - r0 < p.MR ? p.M - r0 : p.MR);
  for (long kb = 0; kb < p.nkb; kb++) {
    long k0 = kb * p.kc0, kc = p.K - k0 < p.kc0 ? p.K - k0 : p.kc0;
    p.k->pack(p.a + r0 * p.ars + k0 * p.acs, p.ars, p.acs, L, p.MR, kc, p.Ap + k0 * p.Mpad + (i - p.pa0) * p.MR * kc);
  }
}

void pack_b_panel(const Plan& p, long j) {
  long c0 = j * p.NR;
  int L = (int)(p.N - c0 < p.NR ? p.N - c0 : p.NR);
  int P = j == p.np - 1 ? p.last_w : p.NR;
  for (long kb = 0; kb < p.nkb; kb++) {
    long k0 = kb * p.kc0, kc = p.K - k0 < p.kc0 ? p.K - k0 : p.kc0;
    p.k->pack(p.b + k0 * p.brs + c0 * p.bcs, p.bcs, p.brs, L, P, kc, p.Bp + k0 * p.Npad + (j - p.pb0) * p.NR * kc);
  }
}

/** C tile of row panels [i0, i1) × column panels [j0, j1), over all k-blocks. */
void compute_tile(const Plan& p, long i0, long i1, long j0, long j1) {
  const long ldc = p.ldc;
  for (long kb = 0; kb < p.nkb; kb++) {
    long k0 = kb * p.kc0, kc = p.K - k0 < p.kc0 ? p.K - k0 : p.kc0;
    for (long i = i0; i < i1; i++) {
      long r0 = i * p.MR;
      int mr = (int)(p.M - r0 < p.MR ? p.M - r0 : p.MR);
      const float* ap;
      long as;
      bool rows = false;
      if (i < p.pa0) {
        rows = p.rows_a;
        ap = p.a + r0 * p.ars + k0 * p.acs;
        as = rows ? p.ars : p.acs;
      } else {
        ap = p.Ap + k0 * p.Mpad + (i - p.pa0) * p.MR * kc;
        as = p.MR;
      }
      for (long j = j0; j < j1; j++) {
        long c0 = j * p.NR;
        int nr = (int)(p.N - c0 < p.NR ? p.N - c0 : p.NR);
        bool half = j == p.np - 1 && p.last_w < p.NR;
        const float* bp;
        long bs;
        if (j < p.pb0) { bp = p.b + k0 * p.brs + c0; bs = p.brs; }
        else { bp = p.Bp + k0 * p.Npad + (j - p.pb0) * p.NR * kc; bs = half ? p.last_w : p.NR; }
        float* cp = p.trans_c ? p.c + c0 * ldc + r0 : p.c + r0 * ldc + c0;
        p.k->ukernels[rows][p.trans_c][half](kc, ap, as, bp, bs, cp, ldc, mr, nr, kb > 0);
      }
    }
  }
}

void pack_task(void* ctx, long t, int) {
  const Plan& p = *static_cast<const Plan*>(ctx);
  long na = p.mp - p.pa0;
  if (t < na) pack_a_panel(p, p.pa0 + t);
  else pack_b_panel(p, p.pb0 + (t - na));
}

void tile_task(void* ctx, long t, int) {
  const Plan& p = *static_cast<const Plan*>(ctx);
  long ti = t / p.tn, tj = t % p.tn;
  long i0 = ti * p.mpt, i1 = i0 + p.mpt < p.mp ? i0 + p.mpt : p.mp;
  long j0 = tj * p.npt, j1 = j0 + p.npt < p.np ? j0 + p.npt : p.np;
  compute_tile(p, i0, i1, j0, j1);
}

bool alloc_packs(Plan& p) {
  size_t na = (size_t)p.Mpad * p.K, nb = (size_t)p.Npad * p.K;
  p.Ap = na ? buf_a.get(na) : nullptr;
  p.Bp = nb ? buf_b.get(nb) : nullptr;
  return (!na || p.Ap) && (!nb || p.Bp);
}

/** One product on the calling thread. */
void gemm_serial(const Kernels* k, long M, long N, long K, const float* a, long lda, bool ta, const float* b, long ldb,
                 bool tb, float* c) {
  Plan p;
  plan_init(p, k, M, N, K, a, lda, ta, b, ldb, tb, c);
  if (!alloc_packs(p)) return;
  for (long i = p.pa0; i < p.mp; i++) pack_a_panel(p, i);
  for (long j = p.pb0; j < p.np; j++) pack_b_panel(p, j);
  long npt = NC_COLS / p.NR;
  for (long j0 = 0; j0 < p.np; j0 += npt) compute_tile(p, 0, p.mp, j0, j0 + npt < p.np ? j0 + npt : p.np);
}

/** One product split over the pool: a packing phase, then a phase of C tiles. */
void gemm_parallel(const Kernels* k, long M, long N, long K, const float* a, long lda, bool ta, const float* b,
                   long ldb, bool tb, float* c, int threads) {
  Plan p;
  plan_init(p, k, M, N, K, a, lda, ta, b, ldb, tb, c);
  if (!alloc_packs(p)) return;
  long npack = (p.mp - p.pa0) + (p.np - p.pb0);
  if ((p.Mpad + p.Npad) * K < (1L << 14)) { // little to pack: not worth a parallel phase
    for (long t = 0; t < npack; t++) pack_task(&p, t, 0);
  } else {
    parallel_for(npack, pack_task, &p);
  }
  // tiles: at most NC_COLS wide; enough of them (4 per thread when the work allows) to balance the load
  long npt = NC_COLS / p.NR;
  if (npt > p.np) npt = p.np;
  p.tn = (p.np + npt - 1) / npt;
  p.npt = (p.np + p.tn - 1) / p.tn;
  double flops = 2.0 * M * N * K;
  long want = (long)(flops / (parallel_flops / 2));
  if (want > 4L * threads) want = 4L * threads;
  if (want < threads) want = threads;
  long tm = (want + p.tn - 1) / p.tn;
  if (tm > p.mp) tm = p.mp;
  if (tm < 1) tm = 1;
  p.mpt = (p.mp + tm - 1) / tm;
  p.tm = (p.mp + p.mpt - 1) / p.mpt;
  if (p.tm * p.tn < threads && p.tn < p.np) { // too few row panels: split the columns finer
    p.tn = (threads + p.tm - 1) / p.tm;
    if (p.tn > p.np) p.tn = p.np;
    p.npt = (p.np + p.tn - 1) / p.tn;
    p.tn = (p.np + p.npt - 1) / p.npt;
  }
  parallel_for(p.tm * p.tn, tile_task, &p);
}

struct BatchCtx {
  const Kernels* k;
  long M, N, K;
  const float* a; long lda; bool ta; long abs_;
  const float* b; long ldb; bool tb; long bbs;
  float* c;
};

void batch_task(void* ctx, long t, int) {
  const BatchCtx& q = *static_cast<const BatchCtx*>(ctx);
  gemm_serial(q.k, q.M, q.N, q.K, q.a + t * q.abs_, q.lda, q.ta, q.b + t * q.bbs, q.ldb, q.tb, q.c + t * q.M * q.N);
}

} // namespace

void gemm_set_parallel_threshold(double flops) { parallel_flops = flops; }
double gemm_parallel_threshold() { return parallel_flops; }
void gemm_set_blocking(long kc, long nc) {
  if (kc >= 16) KC_MAX = kc;
  if (nc >= 64) NC_COLS = nc;
}
long gemm_kc() { return KC_MAX; }
long gemm_nc() { return NC_COLS; }

void gemm(const Kernels* k, long batch, long M, long N, long K, const float* a, long lda, bool ta, long abs_,
          const float* b, long ldb, bool tb, long bbs, float* c) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  if (K <= 0) {
    memset(c, 0, sizeof(float) * (size_t)(batch * M * N));
    return;
  }
  int threads = pool_threads();
  double flops = 2.0 * M * N * K;
  if (threads > 1 && batch > 1 && flops * batch >= parallel_flops && flops < 8 * parallel_flops) {
    BatchCtx q{k, M, N, K, a, lda, ta, abs_, b, ldb, tb, bbs, c};
    parallel_for(batch, batch_task, &q);
    return;
  }
  for (long t = 0; t < batch; t++) {
    const float* at = a + t * abs_;
    const float* bt = b + t * bbs;
    float* ct = c + t * M * N;
    if (threads > 1 && flops >= parallel_flops && pool_try_parallel()) gemm_parallel(k, M, N, K, at, lda, ta, bt, ldb, tb, ct, threads);
    else gemm_serial(k, M, N, K, at, lda, ta, bt, ldb, tb, ct);
  }
}

} // namespace nabla
