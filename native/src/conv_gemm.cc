// Convolution as products over a few images at a time, each pool task owning its images: the columns of its
// images (im2col) go into the task's own buffer, a few hundred KB that stays in that core's L2 cache, and the
// product reads them from there (forward, weight gradient), or the product writes them there and col2im folds
// them back at once (input gradient). One pool job per op instead of an im2col, a product and a col2im pass over
// a chunk-wide buffer each; the products are the serial gemm (each task runs one on its own thread).
#include "conv.h"

#include <atomic>
#include <string.h>

#include "gemm.h"
#include "pool.h"

namespace nabla {
namespace {

thread_local Aligned t_cols, t_rows, t_part; // a task's columns, output-gradient rows and partial product
Aligned s_weight, s_parts;                   // the caller's: [W | b], the weight gradient's per-task partials

/** Elements of one task's column buffer: about half a core's L2 cache. */
const long COLS_BUDGET = 1L << 17;

/** Whether gemm runs a product this size on the calling thread (a pool task must not start a pool job). */
bool serial_product(long M, long N, long K) { return pool_threads() == 1 || 2.0 * M * N * K < gemm_parallel_threshold(); }

struct ForwardJob {
  const Kernels* k;
  const float* x; const long* sx; const Geometry* g; const float* w; long O, K, Ka; float* out;
  std::atomic<bool> failed;
};

/** Image n: cols [Ka, L] (a row of ones last when the bias is folded), out[n] = [W | b] · cols. */
void forward_task(void* ctx, long n, int) {
  ForwardJob& j = *static_cast<ForwardJob*>(ctx);
  const long L = j.g->OH * j.g->OW;
  float* cols = t_cols.get(j.Ka * L);
  if (!cols) { j.failed.store(true); return; }
  im2col_serial(j.k, j.x, j.sx, *j.g, n, 1, cols);
  for (long i = j.K * L; i < j.Ka * L; i++) cols[i] = 1.0f;
  gemm(j.k, 1, j.O, L, j.Ka, j.w, j.Ka, false, 0, cols, L, false, 0, j.out + n * j.O * L);
}

struct InputGradJob {
  const Kernels* k;
  const float* gy; const Geometry* g; const float* w; long O, K; float* out;
  std::atomic<bool> failed;
};

/** Image n: cols [K, L] = Wᵀ · gy[n], folded back into out[n]. */
void input_grad_task(void* ctx, long n, int) {
  InputGradJob& j = *static_cast<InputGradJob*>(ctx);
  const long L = j.g->OH * j.g->OW;
  float* cols = t_cols.get(j.K * L);
  if (!cols) { j.failed.store(true); return; }
  gemm(j.k, 1, j.K, L, j.O, j.w, j.K, true, 0, j.gy + n * j.O * L, L, false, 0, cols);
  col2im_serial(j.k, cols, *j.g, n, 1, j.out);
}

struct WeightGradJob {
  const Kernels* k;
  const float* x; const long* sx; const Geometry* g; const float* gy; long O, K, Ka;
  long per_product, per_task; float* parts;
  std::atomic<bool> failed;
};

/** Images [t·per_task, …): part t [O, Ka] = Σ gy rows · [cols; 1]ᵀ, a few images per product. */
void weight_grad_task(void* ctx, long t, int) {
  WeightGradJob& j = *static_cast<WeightGradJob*>(ctx);
  const Geometry& g = *j.g;
  const long L = g.OH * g.OW, O = j.O, n0 = t * j.per_task, n1 = n0 + j.per_task < g.N ? n0 + j.per_task : g.N;
  float* cols = t_cols.get(j.Ka * j.per_product * L);
  float* rows = j.per_product > 1 ? t_rows.get(O * j.per_product * L) : nullptr;
  float* tmp = n1 - n0 > j.per_product ? t_part.get(O * j.Ka) : nullptr;
  if (!cols || (j.per_product > 1 && !rows) || (n1 - n0 > j.per_product && !tmp)) { j.failed.store(true); return; }
  float* part = j.parts + t * O * j.Ka;
  for (long a = n0; a < n1; a += j.per_product) {
    const long nb = n1 - a < j.per_product ? n1 - a : j.per_product, ld = nb * L;
    im2col_serial(j.k, j.x, j.sx, g, a, nb, cols);
    for (long i = j.K * ld; i < j.Ka * ld; i++) cols[i] = 1.0f;
    // the output gradient of these images as [O, nb·L] rows (gy is [N, O, L])
    const float* A = j.gy + a * O * L;
    if (nb > 1) {
      for (long o = 0; o < O; o++)
        for (long i = 0; i < nb; i++) memcpy(rows + o * ld + i * L, j.gy + ((a + i) * O + o) * L, sizeof(float) * (size_t)L);
      A = rows;
    }
    float* c = a == n0 ? part : tmp;
    gemm(j.k, 1, O, j.Ka, ld, A, ld, false, 0, cols, ld, true, 0, c);
    if (c == tmp) for (long i = 0; i < O * j.Ka; i++) part[i] += tmp[i];
  }
}

} // namespace

bool conv_gemm(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* w, long O,
               const float* bias, float* out) {
  const long K = g.C * g.kh * g.kw, Ka = bias ? K + 1 : K, L = g.OH * g.OW;
  if (Ka * L > 8 * COLS_BUDGET || !serial_product(O, L, Ka)) return false;
  const float* wa = w;
  if (bias) { // [W | b]: the bias rides in the product against the row of ones
    float* wb = s_weight.get(O * Ka);
    if (!wb) return false;
    for (long o = 0; o < O; o++) {
      memcpy(wb + o * Ka, w + o * K, sizeof(float) * (size_t)K);
      wb[o * Ka + K] = bias[o];
    }
    wa = wb;
  }
  ForwardJob j{k, x, sx, &g, wa, O, K, Ka, out, {false}};
  parallel_for(g.N, forward_task, &j);
  return !j.failed.load();
}

bool conv_gemm_input_grad(const Kernels* k, const float* gy, const Geometry& g, const float* w, long O, float* out) {
  const long K = g.C * g.kh * g.kw, L = g.OH * g.OW;
  if (K * L > 8 * COLS_BUDGET || !serial_product(K, L, O)) return false;
  InputGradJob j{k, gy, &g, w, O, K, out, {false}};
  parallel_for(g.N, input_grad_task, &j);
  return !j.failed.load();
}

bool conv_gemm_weight_grad(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* gy, long O,
                           float* gw, float* gb) {
  const long K = g.C * g.kh * g.kw, Ka = gb ? K + 1 : K, L = g.OH * g.OW;
  if (g.N < 1 || Ka * L > 8 * COLS_BUDGET || !serial_product(O, Ka, L)) return false;
  // images per product: their columns within the budget, the product small enough for one thread
  long per_product = COLS_BUDGET / (Ka * L);
  if (per_product < 1) per_product = 1;
  while (per_product > 1 && !serial_product(O, Ka, per_product * L)) per_product--;
  if (per_product > g.N) per_product = g.N;
  // a fixed split into at most 8 tasks (not one per thread), so that the sum's order never depends on the threads
  long tasks = (g.N + per_product - 1) / per_product;
  if (tasks > 8) tasks = 8;
  const long per_task = (g.N + tasks - 1) / tasks;
  tasks = (g.N + per_task - 1) / per_task;
  float* parts = s_parts.get(tasks * O * Ka);
  if (!parts) return false;
  WeightGradJob j{k, x, sx, &g, gy, O, K, Ka, per_product, per_task, parts, {false}};
  parallel_for(tasks, weight_grad_task, &j);
  if (j.failed.load()) return false;
  for (long o = 0; o < O; o++) {
    for (long c = 0; c < Ka; c++) {
      float s = parts[o * Ka + c];
      for (long t = 1; t < tasks; t++) s += parts[(t * O + o) * Ka + c];
      if (c < K) gw[o * K + c] = s;
      else gb[o] = s;
    }
  }
  return true;
}

} // namespace nabla
