// The gemm driver (BLIS-style): op(A) in MR-row panels and op(B) in NR-column panels for every block of KC
// along k, then the micro-kernel over tiles of C. A panel is packed into a contiguous buffer unless its
// operand already has the panel's layout (Aᵀ stored row-major: MR contiguous values per k; B stored
// row-major: NR contiguous values per k; A stored row-major is read through MR row pointers), in which
// case the kernel reads it in place; partial edge panels
// are always packed (zero-padded), so no read goes past the operand. Packing and tiles are pool tasks.
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

#include "aligned.h"
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
double parallel_flops = 16 << 20; // below this a product stays on the calling thread (see native/README.md, "Threads")
/** Products below STRIP_FLOPS are threaded as strips that pack their own panels (one pool job, no barrier
 *  between packing and computing); larger ones, when strips would repack much, share packed panels. */
const double STRIP_FLOPS = 32e6;
const long KC_SMALL = 1024; // the longest k left unblocked in a product below STRIP_FLOPS

thread_local Aligned buf_a, buf_b;

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
  int last_h;                    // packed height of the last row panel (MR or MR/2)
  long kc0, nkb;                 // k-block size and count
  bool rows_a;                   // A read in place is row-major (A(i, k) = a[i·ars + k]), else lanes along i
  long pa0, pb0;                 // first packed panel of A and of B (panels before them are read in place)
  long tm, tn, mpt, npt;         // tile grid: tm × tn tiles of mpt row panels × npt column panels
};

/** Packed panels: A panels [a0, …) at Ap (Mpad rows per k), B panels [b0, …) at Bp (Npad columns per k).
 *  Panels before pa0 / pb0 are read in place. Panel i's k-block kb starts at Ap + k0·Mpad + (i − a0)·MR·kc. */
struct Packs {
  float* Ap; long a0, Mpad;
  float* Bp; long b0, Npad;
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
  long rem_m = M - (p.mp - 1) * p.MR;
  p.last_h = rem_m <= p.MR / 2 ? p.MR / 2 : p.MR;
  // small products reuse a B panel over few row panels: one pass over C (k unblocked) pays more than L1 misses
  long kc_max = 2.0 * M * N * K < STRIP_FLOPS && K <= KC_SMALL ? K : KC_MAX;
  p.nkb = (K + kc_max - 1) / kc_max;
  p.kc0 = (K + p.nkb - 1) / p.nkb;
  // A in place: lanes contiguous along i (a packed panel's layout) or rows contiguous along k;
  // B in place: rows contiguous along j. Only partial edge panels are then packed.
  bool lanes_a = ars == 1 && !aliasing(acs);
  p.rows_a = !lanes_a && acs == 1 && !aliasing(ars);
  bool direct_a = lanes_a || p.rows_a;
  bool direct_b = bcs == 1 && !aliasing(brs);
  p.pa0 = direct_a ? M / p.MR : 0;
  p.pb0 = direct_b ? N / p.NR : 0;
}

/** The packed layout of row panels [i0, i1) and column panels [j0, j1) (buffers not yet set). */
Packs packs_for(const Plan& p, long i0, long i1, long j0, long j1) {
  Packs s{nullptr, i0 > p.pa0 ? i0 : p.pa0, 0, nullptr, j0 > p.pb0 ? j0 : p.pb0, 0};
  if (i1 > s.a0) s.Mpad = (i1 - 1 - s.a0) * p.MR + (i1 == p.mp ? p.last_h : p.MR);
  if (j1 > s.b0) s.Npad = (j1 - 1 - s.b0) * p.NR + (j1 == p.np ? p.last_w : p.NR);
  return s;
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

/** Pack row panel i of A (rows r0 … r0+MR, zero-padded) into s. */
void pack_a_panel(const Plan& p, const Packs& s, long i) {
  long r0 = i * p.MR;
  int L = (int)(p.M - r0 < p.MR ? p.M - r0 : p.MR);
  int P = i == p.mp - 1 ? p.last_h : p.MR;
  for (long kb = 0; kb < p.nkb; kb++) {
    long k0 = kb * p.kc0, kc = p.K - k0 < p.kc0 ? p.K - k0 : p.kc0;
    p.k->pack(p.a + r0 * p.ars + k0 * p.acs, p.ars, p.acs, L, P, kc, s.Ap + k0 * s.Mpad + (i - s.a0) * p.MR * kc);
  }
}

void pack_b_panel(const Plan& p, const Packs& s, long j) {
  long c0 = j * p.NR;
  int L = (int)(p.N - c0 < p.NR ? p.N - c0 : p.NR);
  int P = j == p.np - 1 ? p.last_w : p.NR;
  for (long kb = 0; kb < p.nkb; kb++) {
    long k0 = kb * p.kc0, kc = p.K - k0 < p.kc0 ? p.K - k0 : p.kc0;
    p.k->pack(p.b + k0 * p.brs + c0 * p.bcs, p.bcs, p.brs, L, P, kc, s.Bp + k0 * s.Npad + (j - s.b0) * p.NR * kc);
  }
}

/** C tile of row panels [i0, i1) × column panels [j0, j1), over all k-blocks. */
void compute_tile(const Plan& p, const Packs& s, long i0, long i1, long j0, long j1) {
  const long ldc = p.ldc;
  for (long kb = 0; kb < p.nkb; kb++) {
    long k0 = kb * p.kc0, kc = p.K - k0 < p.kc0 ? p.K - k0 : p.kc0;
    for (long i = i0; i < i1; i++) {
      long r0 = i * p.MR;
      int mr = (int)(p.M - r0 < p.MR ? p.M - r0 : p.MR);
      const float* ap;
      long as;
      bool rows = false, short_ = i == p.mp - 1 && p.last_h < p.MR; // a short panel is always packed
      if (i < p.pa0) {
        rows = p.rows_a;
        ap = p.a + r0 * p.ars + k0 * p.acs;
        as = rows ? p.ars : p.acs;
      } else {
        ap = s.Ap + k0 * s.Mpad + (i - s.a0) * p.MR * kc;
        as = short_ ? p.last_h : p.MR;
      }
      for (long j = j0; j < j1; j++) {
        long c0 = j * p.NR;
        int nr = (int)(p.N - c0 < p.NR ? p.N - c0 : p.NR);
        bool half = j == p.np - 1 && p.last_w < p.NR;
        const float* bp;
        long bs;
        if (j < p.pb0) { bp = p.b + k0 * p.brs + c0; bs = p.brs; }
        else { bp = s.Bp + k0 * s.Npad + (j - s.b0) * p.NR * kc; bs = half ? p.last_w : p.NR; }
        float* cp = p.trans_c ? p.c + c0 * ldc + r0 : p.c + r0 * ldc + c0;
        Kernels::Ukernel uk = short_ ? p.k->ukernels_short[p.trans_c][half] : p.k->ukernels[rows][p.trans_c][half];
        uk(kc, ap, as, bp, bs, cp, ldc, mr, nr, kb > 0);
      }
    }
  }
}

bool alloc_packs(Packs& s, long K) {
  size_t na = (size_t)s.Mpad * K, nb = (size_t)s.Npad * K;
  s.Ap = na ? buf_a.get(na) : nullptr;
  s.Bp = nb ? buf_b.get(nb) : nullptr;
  return (!na || s.Ap) && (!nb || s.Bp);
}

/** Tile [i0, i1) × [j0, j1) packed into this thread's own buffers, then computed. */
void pack_and_compute(const Plan& p, long i0, long i1, long j0, long j1) {
  Packs s = packs_for(p, i0, i1, j0, j1);
  if (!alloc_packs(s, p.K)) return;
  for (long i = s.a0; i < i1; i++) pack_a_panel(p, s, i);
  for (long j = s.b0; j < j1; j++) pack_b_panel(p, s, j);
  const long npt = NC_COLS / p.NR; // at most NC_COLS columns at a time, so that their B panels stay in L2
  for (long j = j0; j < j1; j += npt) compute_tile(p, s, i0, i1, j, j + npt < j1 ? j + npt : j1);
}

/** One product on the calling thread. */
void gemm_serial(const Kernels* k, long M, long N, long K, const float* a, long lda, bool ta, const float* b, long ldb,
                 bool tb, float* c) {
  Plan p;
  plan_init(p, k, M, N, K, a, lda, ta, b, ldb, tb, c);
  pack_and_compute(p, 0, p.mp, 0, p.np);
}

// ---------------------------------------------------------------- large products: shared packing, then tiles

struct Shared {
  Plan p;
  Packs s;
};

void pack_task(void* ctx, long t, int) {
  const Shared& q = *static_cast<const Shared*>(ctx);
  long na = q.p.mp - q.s.a0;
  if (t < na) pack_a_panel(q.p, q.s, q.s.a0 + t);
  else pack_b_panel(q.p, q.s, q.s.b0 + (t - na));
}

void tile_task(void* ctx, long t, int) {
  const Shared& q = *static_cast<const Shared*>(ctx);
  const Plan& p = q.p;
  long ti = t / p.tn, tj = t % p.tn;
  long i0 = ti * p.mpt, i1 = i0 + p.mpt < p.mp ? i0 + p.mpt : p.mp;
  long j0 = tj * p.npt, j1 = j0 + p.npt < p.np ? j0 + p.npt : p.np;
  compute_tile(p, q.s, i0, i1, j0, j1);
}

/** A product split over the pool in two jobs: every panel packed once into shared buffers, then C tiles. */
void gemm_shared(Shared& q, int threads) {
  Plan& p = q.p;
  q.s = packs_for(p, 0, p.mp, 0, p.np);
  if (!alloc_packs(q.s, p.K)) return;
  long npack = (p.mp - q.s.a0) + (p.np - q.s.b0);
  if ((q.s.Mpad + q.s.Npad) * p.K < (1L << 14)) { // little to pack: not worth a parallel phase
    for (long t = 0; t < npack; t++) pack_task(&q, t, 0);
  } else {
    parallel_for(npack, pack_task, &q);
  }
  // tiles: at most NC_COLS wide; enough of them (4 per thread when the work allows) to balance the load
  long npt = NC_COLS / p.NR;
  if (npt > p.np) npt = p.np;
  p.tn = (p.np + npt - 1) / npt;
  p.npt = (p.np + p.tn - 1) / p.tn;
  double flops = 2.0 * p.M * p.N * p.K;
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
  parallel_for(p.tm * p.tn, tile_task, &q);
}

// ---------------------------------------------------------------- small products: one job of strips

/** Row strip t of tm: panels [t·mp/tm, (t+1)·mp/tm); likewise column strips. */
inline long strip(long t, long n, long parts) { return t * n / parts; }

/** Estimated cost of tile [i0, i1) × [j0, j1) in multiply-adds: its kernel work (padded rows included, a
 *  half-width last panel at half) plus the panels it packs, at ≈ 16 multiply-adds per packed element. */
double tile_cost(const Plan& p, long i0, long i1, long j0, long j1) {
  double short_rows = i1 == p.mp ? p.MR - p.last_h : 0, short_cols = j1 == p.np ? p.NR - p.last_w : 0;
  double rows = (double)(i1 - i0) * p.MR - short_rows, cols = (double)(j1 - j0) * p.NR - short_cols;
  long i = i0 > p.pa0 ? i0 : p.pa0, j = j0 > p.pb0 ? j0 : p.pb0;
  double packed_rows = i1 > i ? (double)(i1 - i) * p.MR - short_rows : 0;
  double packed_cols = j1 > j ? (double)(j1 - j) * p.NR - short_cols : 0;
  return (rows * cols + 16.0 * (packed_rows + packed_cols)) * p.K;
}

/** The grid of tm × tn strips (at most 4 per thread) with the shortest estimated run: rounds of `threads`
 *  tasks times the costliest task. Returns that estimate. */
double choose_strips(Plan& p, int threads) {
  double best = -1;
  long cap = 4L * threads;
  for (long tm = 1; tm <= p.mp && tm <= cap; tm++) {
    for (long tn = 1; tn <= p.np && tm * tn <= cap; tn++) {
      double worst = 0;
      for (long ti = 0; ti < tm; ti++)
        for (long tj = 0; tj < tn; tj++) {
          double c = tile_cost(p, strip(ti, p.mp, tm), strip(ti + 1, p.mp, tm), strip(tj, p.np, tn), strip(tj + 1, p.np, tn));
          if (c > worst) worst = c;
        }
      double run = (double)((tm * tn + threads - 1) / threads) * worst;
      if (best < 0 || run < best) { best = run; p.tm = tm; p.tn = tn; }
    }
  }
  return best;
}

void strip_task(void* ctx, long t, int) {
  const Plan& p = *static_cast<const Plan*>(ctx);
  long ti = t / p.tn, tj = t % p.tn;
  pack_and_compute(p, strip(ti, p.mp, p.tm), strip(ti + 1, p.mp, p.tm), strip(tj, p.np, p.tn), strip(tj + 1, p.np, p.tn));
}

void gemm_parallel(const Kernels* k, long M, long N, long K, const float* a, long lda, bool ta, const float* b,
                   long ldb, bool tb, float* c, int threads) {
  Shared q;
  Plan& p = q.p;
  plan_init(p, k, M, N, K, a, lda, ta, b, ldb, tb, c);
  double run = choose_strips(p, threads);
  double once = tile_cost(p, 0, p.mp, 0, p.np) / threads;
  if (2.0 * M * N * K < STRIP_FLOPS || run <= 1.05 * once) parallel_for(p.tm * p.tn, strip_task, &p);
  else gemm_shared(q, threads);
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
