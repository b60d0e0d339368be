// Strided N-d iteration and reductions over the ISA kernels. Rows whose innermost stride is 1 go to the
// vector kernels in place; stride 0 is a broadcast scalar; other strides are gathered into a small buffer.
#include "ops.h"

#include <atomic>
#include <math.h>
#include <string.h>

#include "pool.h"

namespace nabla {

const char* const kReduceNames[R_COUNT] = {"sum", "prod", "max", "min", "argmax", "argmin"};

namespace {

long par_elements = 1 << 18; // below this many elements (weighted by op cost) an op runs on one thread
const long CHUNK = 1024;

/** Calls f(pos, len, offs) for each run of output positions [pos, pos + len) inside one innermost row of
 *  s, for the flat range [start, end); offs[k] is operand k's element offset at pos. */
template <class F>
void visit(const Space& s, long start, long end, F f) {
  long offs[4] = {0, 0, 0, 0};
  if (start >= end) return;
  if (s.nd == 0) {
    if (start < end) f(0L, 1L, offs);
    return;
  }
  const int nd = s.nd;
  const long inner = s.shape[nd - 1];
  long idx[MAX_DIMS];
  long rem = start / inner, col = start % inner;
  for (int d = nd - 2; d >= 0; d--) {
    idx[d] = rem % s.shape[d];
    rem /= s.shape[d];
  }
  for (int k = 0; k < s.nops; k++) {
    long o = col * s.strides[k][nd - 1];
    for (int d = 0; d < nd - 1; d++) o += idx[d] * s.strides[k][d];
    offs[k] = o;
  }
  long pos = start;
  while (pos < end) {
    long len = inner - col < end - pos ? inner - col : end - pos;
    f(pos, len, offs);
    pos += len;
    col += len;
    for (int k = 0; k < s.nops; k++) offs[k] += len * s.strides[k][nd - 1];
    if (col == inner && pos < end) {
      col = 0;
      for (int k = 0; k < s.nops; k++) offs[k] -= inner * s.strides[k][nd - 1];
      for (int d = nd - 2; d >= 0; d--) {
        idx[d]++;
        for (int k = 0; k < s.nops; k++) offs[k] += s.strides[k][d];
        if (idx[d] < s.shape[d]) break;
        for (int k = 0; k < s.nops; k++) offs[k] -= s.strides[k][d] * s.shape[d];
        idx[d] = 0;
      }
    }
  }
}

/** A pointer to len floats of an operand row with stride st: in place when st is 0 or 1, else gathered. */
inline const float* row_ptr(const float* p, long st, long len, float* tmp, int* mode) {
  if (st == 1) { *mode = 1; return p; }
  if (st == 0) { *mode = 0; return p; }
  for (long i = 0; i < len; i++) tmp[i] = p[i * st];
  *mode = 1;
  return tmp;
}

template <class F>
struct RangeJob {
  const Space* s;
  long n, chunk;
  F* f;
  static void run(void* ctx, long t, int) {
    RangeJob* j = static_cast<RangeJob*>(ctx);
    long start = t * j->chunk, end = start + j->chunk < j->n ? start + j->chunk : j->n;
    visit(*j->s, start, end, *j->f);
  }
};

/** visit() over all of s, split into pool tasks when n·cost is large. */
template <class F>
void visit_all(const Space& s, long cost, F f) {
  long n = numel(s);
  int threads = pool_threads();
  if (threads == 1 || n * cost < par_elements) {
    visit(s, 0, n, f);
    return;
  }
  long tasks = 4L * threads;
  long chunk = (n + tasks - 1) / tasks;
  chunk = (chunk + 63) & ~63L;
  RangeJob<F> job{&s, n, chunk, &f};
  parallel_for((n + chunk - 1) / chunk, RangeJob<F>::run, &job);
}

long unary_cost(int op) {
  switch (op) {
    case U_NEG: case U_ABS: case U_RELU: case U_SIGN: case U_FLOOR: case U_CEIL: case U_ROUND: return 1;
    case U_SIN: case U_COS: return 16;
    default: return 4;
  }
}

} // namespace

void ew_set_parallel_threshold(long e) { par_elements = e; }
long ew_parallel_threshold() { return par_elements; }

long numel(const Space& s) {
  long n = 1;
  for (int d = 0; d < s.nd; d++) n *= s.shape[d];
  return n;
}

void coalesce(Space& s) {
  int out = 0;
  for (int d = 0; d < s.nd; d++) {
    if (s.shape[d] == 1) continue;
    if (out > 0) {
      bool merge = true;
      for (int k = 0; k < s.nops; k++)
        if (s.strides[k][out - 1] != s.strides[k][d] * s.shape[d]) { merge = false; break; }
      if (merge) {
        s.shape[out - 1] *= s.shape[d];
        for (int k = 0; k < s.nops; k++) s.strides[k][out - 1] = s.strides[k][d];
        continue;
      }
    }
    s.shape[out] = s.shape[d];
    for (int k = 0; k < s.nops; k++) s.strides[k][out] = s.strides[k][d];
    out++;
  }
  bool empty = false;
  for (int d = 0; d < s.nd; d++) if (s.shape[d] == 0) empty = true;
  if (empty) { s.nd = 1; s.shape[0] = 0; return; }
  s.nd = out;
}

void ew_unary(const Kernels* k, int op, const float* x, const Space& s, float* out) {
  const long st = s.nd ? s.strides[0][s.nd - 1] : 0;
  visit_all(s, unary_cost(op), [&](long pos, long len, const long* offs) {
    const float* p = x + offs[0];
    if (st == 1) { k->unary(op, p, out + pos, len); return; }
    float tmp[CHUNK];
    for (long i = 0; i < len; i += CHUNK) {
      long m = len - i < CHUNK ? len - i : CHUNK;
      for (long q = 0; q < m; q++) tmp[q] = p[(i + q) * st];
      k->unary(op, tmp, out + pos + i, m);
    }
  });
}

void ew_binary(const Kernels* k, int op, const float* a, const float* b, const Space& s, void* out) {
  const long sa = s.nd ? s.strides[0][s.nd - 1] : 0, sb = s.nd ? s.strides[1][s.nd - 1] : 0;
  const bool cmp = op >= B_EQ;
  const long cost = op == B_POW ? 16 : op == B_DIV ? 2 : 1;
  visit_all(s, cost, [&](long pos, long len, const long* offs) {
    const float* pa = a + offs[0];
    const float* pb = b + offs[1];
    float ta[CHUNK], tb[CHUNK];
    for (long i = 0; i < len; i += CHUNK) {
      long m = len - i < CHUNK ? len - i : CHUNK;
      int ma, mb;
      const float* ra = row_ptr(pa + i * sa, sa, m, ta, &ma);
      const float* rb = row_ptr(pb + i * sb, sb, m, tb, &mb);
      if (cmp) k->compare(op, ra, ma, rb, mb, static_cast<uint8_t*>(out) + pos + i, m);
      else k->binary(op, ra, ma, rb, mb, static_cast<float*>(out) + pos + i, m);
    }
  });
}

void ew_isnan(const Kernels* k, const float* x, const Space& s, uint8_t* out) {
  const long st = s.nd ? s.strides[0][s.nd - 1] : 0;
  visit_all(s, 1, [&](long pos, long len, const long* offs) {
    const float* p = x + offs[0];
    float tmp[CHUNK];
    for (long i = 0; i < len; i += CHUNK) {
      long m = len - i < CHUNK ? len - i : CHUNK;
      int mode;
      const float* r = row_ptr(p + i * st, st, m, tmp, &mode);
      if (mode) k->isnan(r, out + pos + i, m);
      else memset(out + pos + i, r[0] != r[0], (size_t)m);
    }
  });
}

void ew_where(const Kernels* k, const uint8_t* c, const float* a, const float* b, const Space& s, float* out) {
  const long sc = s.nd ? s.strides[0][s.nd - 1] : 0, sa = s.nd ? s.strides[1][s.nd - 1] : 0,
             sb = s.nd ? s.strides[2][s.nd - 1] : 0;
  visit_all(s, 1, [&](long pos, long len, const long* offs) {
    const uint8_t* pc = c + offs[0];
    const float* pa = a + offs[1];
    const float* pb = b + offs[2];
    float ta[CHUNK], tb[CHUNK];
    uint8_t tc[CHUNK];
    for (long i = 0; i < len; i += CHUNK) {
      long m = len - i < CHUNK ? len - i : CHUNK;
      int ma, mb, mc = 1;
      const uint8_t* rc = pc + i * sc;
      if (sc == 0) mc = 0;
      else if (sc != 1) { for (long q = 0; q < m; q++) tc[q] = rc[q * sc]; rc = tc; }
      const float* ra = row_ptr(pa + i * sa, sa, m, ta, &ma);
      const float* rb = row_ptr(pb + i * sb, sb, m, tb, &mb);
      k->where(rc, mc, ra, ma, rb, mb, out + pos + i, m);
    }
  });
}

void ew_copy(const float* src, const Space& s, float* dst) {
  const long ss = s.nd ? s.strides[0][s.nd - 1] : 0, ds = s.nd ? s.strides[1][s.nd - 1] : 0;
  visit_all(s, 1, [&](long, long len, const long* offs) {
    const float* p = src + offs[0];
    float* q = dst + offs[1];
    if (ss == 1 && ds == 1) { memmove(q, p, sizeof(float) * (size_t)len); return; }
    if (ds == 1) { for (long i = 0; i < len; i++) q[i] = p[i * ss]; return; }
    for (long i = 0; i < len; i++) q[i * ds] = p[i * ss];
  });
}

// ------------------------------------------------------------------ fused activation gradients and BCE

void ew_act_grad(const Kernels* k, int op, const float* y, const float* g, const Space& s, float* out) {
  const long sy = s.nd ? s.strides[0][s.nd - 1] : 0, sg = s.nd ? s.strides[1][s.nd - 1] : 0;
  visit_all(s, 2, [&](long pos, long len, const long* offs) {
    float ty[CHUNK], tg[CHUNK];
    for (long i = 0; i < len; i += CHUNK) {
      long m = len - i < CHUNK ? len - i : CHUNK;
      int my, mg;
      const float* ry = row_ptr(y + offs[0] + i * sy, sy, m, ty, &my);
      const float* rg = row_ptr(g + offs[1] + i * sg, sg, m, tg, &mg);
      k->act_grad(op, ry, my, rg, mg, out + pos + i, m);
    }
  });
}

long ew_bce_forward(const Kernels* k, const float* p, const float* y, const Space& s, float* out) {
  const long sp = s.nd ? s.strides[0][s.nd - 1] : 0, sy = s.nd ? s.strides[1][s.nd - 1] : 0;
  std::atomic<long> first{-1};
  visit_all(s, 8, [&](long pos, long len, const long* offs) {
    float tp[CHUNK], ty[CHUNK];
    for (long i = 0; i < len; i += CHUNK) {
      long m = len - i < CHUNK ? len - i : CHUNK;
      int mp, my;
      const float* rp = row_ptr(p + offs[0] + i * sp, sp, m, tp, &mp);
      const float* ry = row_ptr(y + offs[1] + i * sy, sy, m, ty, &my);
      long bad = k->bce_forward(rp, mp, ry, my, out + pos + i, m);
      if (bad >= 0) {
        long at = pos + i + bad, cur = first.load();
        while ((cur < 0 || at < cur) && !first.compare_exchange_weak(cur, at)) {}
        return;
      }
    }
  });
  return first.load();
}

void ew_bce_backward(const Kernels* k, const float* p, const float* y, const float* g, const Space& s, float* out) {
  const long sp = s.nd ? s.strides[0][s.nd - 1] : 0, sy = s.nd ? s.strides[1][s.nd - 1] : 0,
             sg = s.nd ? s.strides[2][s.nd - 1] : 0;
  visit_all(s, 4, [&](long pos, long len, const long* offs) {
    float tp[CHUNK], ty[CHUNK], tg[CHUNK];
    for (long i = 0; i < len; i += CHUNK) {
      long m = len - i < CHUNK ? len - i : CHUNK;
      int mp, my, mg;
      const float* rp = row_ptr(p + offs[0] + i * sp, sp, m, tp, &mp);
      const float* ry = row_ptr(y + offs[1] + i * sy, sy, m, ty, &my);
      const float* rg = row_ptr(g + offs[2] + i * sg, sg, m, tg, &mg);
      k->bce_backward(rp, mp, ry, my, rg, mg, out + pos + i, m);
    }
  });
}

// ------------------------------------------------------------------ batch norm

namespace {

struct BnJob {
  const float* x; const float* g; const Space* s;
  const double* mean; const double* inv_std; const double* scale; const double* shift;
  double* var; double* sums; double* mean_out; float* out;
};

inline long bn_work() { return 1L << 15; }

/** Σ over (n, k) of f(x[n, c, k]) in float64, four partial sums. */
template <class F>
double channel_sum(const float* x, const Space& s, long c, F f) {
  const long N = s.shape[0], S = s.shape[2], sN = s.strides[0][0], sC = s.strides[0][1], sS = s.strides[0][2];
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (long n = 0; n < N; n++) {
    const float* p = x + n * sN + c * sC;
    long k = 0;
    if (sS == 1) {
      for (; k + 3 < S; k += 4) { a0 += f(p[k]); a1 += f(p[k + 1]); a2 += f(p[k + 2]); a3 += f(p[k + 3]); }
      for (; k < S; k++) a0 += f(p[k]);
    } else {
      for (; k < S; k++) a0 += f(p[k * sS]);
    }
  }
  return (a0 + a1) + (a2 + a3);
}

void bn_stats_task(void* ctx, long c, int) {
  const BnJob& j = *static_cast<const BnJob*>(ctx);
  const double M = (double)(j.s->shape[0] * j.s->shape[2]);
  const double m = channel_sum(j.x, *j.s, c, [](float v) { return (double)v; }) / M;
  // second pass over the deviations: no cancellation when |mean| ≫ std
  const double q = channel_sum(j.x, *j.s, c, [m](float v) { double d = (double)v - m; return d * d; });
  j.mean_out[c] = m;
  j.var[c] = q / M;
}

void affine_task(void* ctx, long t, int) {
  const BnJob& j = *static_cast<const BnJob*>(ctx);
  const Space& s = *j.s;
  const long C = s.shape[1], S = s.shape[2], n = t / C, c = t % C;
  const float* p = j.x + n * s.strides[0][0] + c * s.strides[0][1];
  const long sS = s.strides[0][2];
  const double a = j.scale[c], b = j.shift[c];
  float* o = j.out + t * S;
  if (sS == 1) for (long k = 0; k < S; k++) o[k] = (float)((double)p[k] * a + b);
  else for (long k = 0; k < S; k++) o[k] = (float)((double)p[k * sS] * a + b);
}

void bn_backward_task(void* ctx, long c, int) {
  const BnJob& j = *static_cast<const BnJob*>(ctx);
  const Space& s = *j.s;
  const long N = s.shape[0], C = s.shape[1], S = s.shape[2];
  const long xN = s.strides[0][0], xC = s.strides[0][1], xS = s.strides[0][2];
  const long gN = s.strides[1][0], gC = s.strides[1][1], gS = s.strides[1][2];
  const double m = j.mean[c], r = j.inv_std[c], M = (double)(N * S);
  double sg = 0, sgx = 0;
  for (long n = 0; n < N; n++) {
    const float* px = j.x + n * xN + c * xC;
    const float* pg = j.g + n * gN + c * gC;
    for (long k = 0; k < S; k++) {
      const double gv = pg[k * gS];
      sg += gv;
      sgx += gv * ((double)px[k * xS] - m);
    }
  }
  j.sums[c] = sg;
  j.sums[C + c] = sgx * r; // Σ g·x̂
  if (!j.out) return;
  // gx = scale·(g − Σg/M − x̂·Σ(g·x̂)/M)
  const double a = j.scale[c], mg = sg / M, k1 = (sgx * r * r) / M;
  for (long n = 0; n < N; n++) {
    const float* px = j.x + n * xN + c * xC;
    const float* pg = j.g + n * gN + c * gC;
    float* o = j.out + (n * C + c) * S;
    for (long k = 0; k < S; k++) o[k] = (float)(a * ((double)pg[k * gS] - mg - ((double)px[k * xS] - m) * k1));
  }
}

/** Run task(ctx, t) for t < n on the pool when the work (elements) is large enough. */
void run_tasks_for(long n, long elements, TaskFn task, void* ctx) {
  if (pool_threads() == 1 || elements < bn_work()) { for (long t = 0; t < n; t++) task(ctx, t, 0); return; }
  parallel_for(n, task, ctx);
}

} // namespace

void batch_norm_stats(const float* x, const Space& s, double* mean, double* var) {
  BnJob j{x, nullptr, &s, nullptr, nullptr, nullptr, nullptr, var, nullptr, mean, nullptr};
  run_tasks_for(s.shape[1], numel(s), bn_stats_task, &j);
}

void channel_affine(const float* x, const Space& s, const double* scale, const double* shift, float* out) {
  BnJob j{x, nullptr, &s, nullptr, nullptr, scale, shift, nullptr, nullptr, nullptr, out};
  run_tasks_for(s.shape[0] * s.shape[1], numel(s), affine_task, &j);
}

void batch_norm_backward(const float* x, const float* g, const Space& s, const double* mean, const double* inv_std,
                         const double* scale, double* sums, float* out) {
  BnJob j{x, g, &s, mean, inv_std, scale, nullptr, nullptr, sums, nullptr, out};
  run_tasks_for(s.shape[1], numel(s), bn_backward_task, &j);
}

// ------------------------------------------------------------------ fused optimizer steps

namespace {

struct OptimJob {
  const Kernels* k;
  const SgdParams* sgd;
  const AdamParams* adam;
  float* p; const float* g; float* a; float* b; float* c;
  long n, chunk;
  static void run(void* ctx, long t, int) {
    const OptimJob& j = *static_cast<const OptimJob*>(ctx);
    long s = t * j.chunk, len = j.n - s < j.chunk ? j.n - s : j.chunk;
    if (j.sgd) j.k->sgd(j.sgd, j.p + s, j.g + s, j.a ? j.a + s : nullptr, len);
    else j.k->adam(j.adam, j.p + s, j.g + s, j.a + s, j.b + s, j.c ? j.c + s : nullptr, len);
  }
};

void run_optim(OptimJob& j, long cost) {
  int threads = pool_threads();
  if (threads == 1 || j.n * cost < par_elements) {
    j.chunk = j.n > 0 ? j.n : 1;
    if (j.n > 0) OptimJob::run(&j, 0, 0);
    return;
  }
  long tasks = 4L * threads;
  j.chunk = (((j.n + tasks - 1) / tasks) + 63) & ~63L;
  parallel_for((j.n + j.chunk - 1) / j.chunk, OptimJob::run, &j);
}

} // namespace

void sgd_step(const Kernels* k, const SgdParams& q, float* p, const float* g, float* buf, long n) {
  OptimJob j{k, &q, nullptr, p, g, buf, nullptr, nullptr, n, 0};
  run_optim(j, 2);
}

void adam_step(const Kernels* k, const AdamParams& q, float* p, const float* g, float* m, float* v, float* vmax, long n) {
  OptimJob j{k, nullptr, &q, p, g, m, v, vmax, n, 0};
  run_optim(j, 4);
}

// ------------------------------------------------------------------ reductions

namespace {

struct ReduceJob {
  const Kernels* k;
  int op;
  const float* x;
  long outer, n, inner, rows_per_task;
  void* out;
};

/** argmax/argmin with the reference's rules: the first extreme wins, and the first NaN beats everything. */
void arg_rows(int op, const float* x, long n, long inner, long i, int32_t* out) {
  const float* p = x + i;
  float best = p[0];
  long bi = 0;
  for (long k = 1; k < n; k++) {
    if (best != best) break;
    float v = p[k * inner];
    if ((op == R_ARGMAX ? v > best : v < best) || v != v) { best = v; bi = k; }
  }
  *out = (int32_t)bi;
}

void reduce_block(const ReduceJob& j, long o) {
  const float* x = j.x + o * j.n * j.inner;
  const long n = j.n, inner = j.inner;
  switch (j.op) {
    case R_SUM:
      if (inner == 1) { static_cast<float*>(j.out)[o] = (float)j.k->sum(x, n); return; }
      {
        float* out = static_cast<float*>(j.out) + o * inner;
        double acc[1024];
        for (long i0 = 0; i0 < inner; i0 += 1024) {
          long w = inner - i0 < 1024 ? inner - i0 : 1024;
          memset(acc, 0, sizeof(double) * (size_t)w);
          j.k->sum_rows(x + i0, n, inner, w, acc);
          for (long q = 0; q < w; q++) out[i0 + q] = (float)acc[q];
        }
      }
      return;
    case R_PROD: {
      float* out = static_cast<float*>(j.out) + o * inner;
      for (long i = 0; i < inner; i++) {
        double acc = 1;
        for (long k = 0; k < n; k++) acc *= x[k * inner + i];
        out[i] = (float)acc;
      }
      return;
    }
    case R_MAX: case R_MIN: {
      int sign = j.op == R_MAX ? 1 : -1;
      float* out = static_cast<float*>(j.out) + o * inner;
      if (inner == 1) { *out = j.k->extreme(x, n, sign); return; }
      uint8_t nan[1024];
      for (long i0 = 0; i0 < inner; i0 += 1024) {
        long w = inner - i0 < 1024 ? inner - i0 : 1024;
        memcpy(out + i0, x + i0, sizeof(float) * (size_t)w);
        memset(nan, 0, (size_t)w);
        j.k->extreme_rows(x + inner + i0, n - 1, inner, w, sign, out + i0, nan);
        for (long q = 0; q < w; q++) if (nan[q] || out[i0 + q] != out[i0 + q]) out[i0 + q] = NAN;
      }
      return;
    }
    case R_ARGMAX: case R_ARGMIN: {
      int32_t* out = static_cast<int32_t*>(j.out) + o * inner;
      for (long i = 0; i < inner; i++) arg_rows(j.op, x, n, inner, i, out + i);
      return;
    }
  }
}

void reduce_task(void* ctx, long t, int) {
  const ReduceJob& j = *static_cast<const ReduceJob*>(ctx);
  long o0 = t * j.rows_per_task, o1 = o0 + j.rows_per_task < j.outer ? o0 + j.rows_per_task : j.outer;
  for (long o = o0; o < o1; o++) reduce_block(j, o);
}

} // namespace

void reduce(const Kernels* k, int op, const float* x, long outer, long n, long inner, void* out) {
  if (outer <= 0 || inner <= 0) return;
  ReduceJob j{k, op, x, outer, n, inner, 1, out};
  long total = outer * n * inner;
  int threads = pool_threads();
  if (threads > 1 && outer > 1 && total >= par_elements) {
    long tasks = outer < 4L * threads ? outer : 4L * threads;
    j.rows_per_task = (outer + tasks - 1) / tasks;
    parallel_for((outer + j.rows_per_task - 1) / j.rows_per_task, reduce_task, &j);
    return;
  }
  j.rows_per_task = outer;
  reduce_task(&j, 0, 0);
}

void gather_rows_u8(const uint8_t* src, long row, const int32_t* rows, long count, const float* table, float* out) {
  // the rows are scattered over the dataset (random DRAM reads): keep the next few in flight while one is decoded
  const long ahead = 4;
  for (long k = 0; k < count && k < ahead; k++) {
    const uint8_t* r = src + (long)rows[k] * row;
    for (long j = 0; j < row; j += 64) __builtin_prefetch(r + j);
  }
  for (long k = 0; k < count; k++) {
    if (k + ahead < count) {
      const uint8_t* next = src + (long)rows[k + ahead] * row;
      for (long j = 0; j < row; j += 64) __builtin_prefetch(next + j);
    }
    const uint8_t* s = src + (long)rows[k] * row;
    float* o = out + k * row;
    long j = 0;
    for (; j + 4 <= row; j += 4) {
      float a = table[s[j]], b = table[s[j + 1]], c = table[s[j + 2]], d = table[s[j + 3]];
      o[j] = a; o[j + 1] = b; o[j + 2] = c; o[j + 3] = d;
    }
    for (; j < row; j++) o[j] = table[s[j]];
  }
}

} // namespace nabla
