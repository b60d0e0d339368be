// im2col / col2im and max pooling. Every task owns whole output rows (im2col) or whole planes (col2im, pooling),
// so no two threads write the same memory.
#include "conv.h"

#include <atomic>
#include <string.h>

#include "pool.h"

namespace nabla {
namespace {

/** The output columns [lo, hi) whose input column ow·sw + start lies in [0, W). */
inline void valid_range(long OW, long sw, long start, long W, long* lo, long* hi) {
  long l = start >= 0 ? 0 : (-start + sw - 1) / sw;
  long h = start >= W ? 0 : (W - 1 - start) / sw + 1;
  if (h > OW) h = OW;
  if (l > OW) l = OW;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

const ConvKernels* conv_kernels(const Kernels* k) {
  return strcmp(k->isa, "avx512") == 0 ? conv_kernels_avx512() : conv_kernels_avx2();
}

struct Im2colJob {
  const ConvKernels* ck;
  const float* x; const long* sx; const Geometry* g; long n0, nb; float* cols;
  long rows_per_task;
};

void im2col_rows(const Im2colJob& j, long r0, long r1) {
  const Geometry& g = *j.g;
  const long L = g.OH * g.OW, ld = j.nb * L;
  const long sN = j.sx[0], sC = j.sx[1], sH = j.sx[2], sW = j.sx[3];
  for (long row = r0; row < r1; row++) {
    const long c = row / (g.kh * g.kw), i = (row / g.kw) % g.kh, jj = row % g.kw;
    const long start = jj * g.dw - g.padLeft;
    long lo, hi;
    valid_range(g.OW, g.sw, start, g.W, &lo, &hi);
    float* dst = j.cols + row * ld;
    // the output rows whose input row lies inside the image: [oh0, oh1)
    const long ih0 = i * g.dh - g.padTop;
    long oh0 = ih0 >= 0 ? 0 : (-ih0 + g.sh - 1) / g.sh, oh1 = ih0 >= g.H ? 0 : (g.H - 1 - ih0) / g.sh + 1;
    if (oh1 > g.OH) oh1 = g.OH;
    if (oh0 > oh1) oh0 = oh1;
    const bool plain = lo == 0 && hi == g.OW && g.sw == 1 && sW == 1;
    for (long n = 0; n < j.nb; n++) {
      const float* xn = j.x + (j.n0 + n) * sN + c * sC;
      float* o = dst + n * L;
      if (plain) { // whole rows copied, zeros above and below the image
        memset(o, 0, sizeof(float) * (size_t)(oh0 * g.OW));
        j.ck->copy_rows(xn + (ih0 + oh0 * g.sh) * sH + start, g.sh * sH, oh1 - oh0, g.OW, o + oh0 * g.OW);
        memset(o + oh1 * g.OW, 0, sizeof(float) * (size_t)((g.OH - oh1) * g.OW));
        continue;
      }
      for (long oh = 0; oh < g.OH; oh++, o += g.OW) {
        const long ih = oh * g.sh - g.padTop + i * g.dh;
        if (ih < 0 || ih >= g.H) { memset(o, 0, sizeof(float) * (size_t)g.OW); continue; }
        const float* xr = xn + ih * sH + start * sW;
        for (long ow = 0; ow < lo; ow++) o[ow] = 0.0f;
        if (g.sw == 1 && sW == 1) memcpy(o + lo, xr + lo, sizeof(float) * (size_t)(hi - lo));
        else {
          const long step = g.sw * sW;
          for (long ow = lo; ow < hi; ow++) o[ow] = xr[ow * step];
        }
        for (long ow = hi; ow < g.OW; ow++) o[ow] = 0.0f;
      }
    }
  }
}

void im2col_task(void* ctx, long t, int) {
  const Im2colJob& j = *static_cast<const Im2colJob*>(ctx);
  const long rows = j.g->C * j.g->kh * j.g->kw;
  long r0 = t * j.rows_per_task, r1 = r0 + j.rows_per_task < rows ? r0 + j.rows_per_task : rows;
  im2col_rows(j, r0, r1);
}

struct Col2imJob {
  const ConvKernels* ck;
  const float* cols; const Geometry* g; long n0, nb; float* out;
};

/** Every cols row of plane p = (n − n0)·C + c (image-major cols), added into that plane of out. */
void col2im_plane(const Col2imJob& j, long p) {
  const Geometry& g = *j.g;
  const long n = p / g.C, c = p % g.C;
  const long L = g.OH * g.OW, K = g.C * g.kh * g.kw, plane = g.H * g.W;
  float* on = j.out + ((j.n0 + n) * g.C + c) * plane;
  if (g.sh == 1 && g.sw == 1) { // every output vector summed in a register
    j.ck->col2im_plane_s1(j.cols + (n * K + c * g.kh * g.kw) * L, g.kh, g.kw, g.dh, g.dw, g.padTop, g.padLeft, g.OH,
                          g.OW, g.H, g.W, on);
    return;
  }
  memset(on, 0, sizeof(float) * (size_t)plane); // cleared here, where the plane is about to be in cache anyway
  for (long i = 0; i < g.kh; i++) {
    for (long jj = 0; jj < g.kw; jj++) {
      const long start = jj * g.dw - g.padLeft;
      long lo, hi;
      valid_range(g.OW, g.sw, start, g.W, &lo, &hi);
      const float* src = j.cols + (n * K + (c * g.kh + i) * g.kw + jj) * L;
      for (long oh = 0; oh < g.OH; oh++, src += g.OW) {
        const long ih = oh * g.sh - g.padTop + i * g.dh;
        if (ih < 0 || ih >= g.H) continue;
        float* orow = on + ih * g.W + start;
        if (g.sw == 1) for (long ow = lo; ow < hi; ow++) orow[ow] += src[ow];
        else for (long ow = lo; ow < hi; ow++) orow[ow * g.sw] += src[ow];
      }
    }
  }
}

void col2im_task(void* ctx, long t, int) { col2im_plane(*static_cast<const Col2imJob*>(ctx), t); }

struct PoolJob {
  const Kernels* k; const ConvKernels* ck;
  const float* x; const long* sx; const Geometry* g; float* out; int32_t* indices;
  long planes_per_task;
};

/** The window at (oh, ow) starting at row0/col0 inside the image: max and argmax as the reference. */
template <int KH, int KW>
inline void window_inside(const float* row0, long sH, long h0, long w0, long W, long dh, long dw, float* out, int32_t* idx) {
  float best = -__builtin_inff();
  long bi = h0 * W + w0;
  for (int i = 0; i < KH; i++) {
    const float* r = row0 + i * dh * sH;
    for (int jj = 0; jj < KW; jj++) {
      const float v = r[jj * dw];
      if (v > best || v != v) { best = v; bi = (h0 + i * dh) * W + w0 + jj * dw; }
    }
  }
  *out = best;
  *idx = (int32_t)bi;
}

/** Every window inside the image and rows contiguous (sW = 1): no clipping, a fixed kernel size. */
template <int KH, int KW>
void max_pool_plane_inside(const float* base, long sH, const Geometry& g, float* out, int32_t* idx) {
  for (long oh = 0; oh < g.OH; oh++) {
    const long h0 = oh * g.sh;
    const float* row = base + h0 * sH;
    for (long ow = 0; ow < g.OW; ow++) {
      const long w0 = ow * g.sw;
      window_inside<KH, KW>(row + w0, sH, h0, w0, g.W, g.dh, g.dw, out + oh * g.OW + ow, idx + oh * g.OW + ow);
    }
  }
}

/** One (n, c) plane of max pooling, with the reference's rules: padding skipped, a NaN wins (the last one). */
void max_pool_plane(const PoolJob& j, long p) {
  const Geometry& g = *j.g;
  const long n = p / g.C, c = p % g.C;
  const float* base = j.x + n * j.sx[0] + c * j.sx[1];
  const long sH = j.sx[2], sW = j.sx[3];
  float* out = j.out + p * g.OH * g.OW;
  int32_t* idx = j.indices + p * g.OH * g.OW;
  const bool inside = g.padTop == 0 && g.padLeft == 0 && (g.OH - 1) * g.sh + (g.kh - 1) * g.dh < g.H &&
                      (g.OW - 1) * g.sw + (g.kw - 1) * g.dw < g.W && sW == 1;
  if (inside && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.dh == 1 && g.dw == 1) {
    j.ck->maxpool2x2_plane(base, sH, g.OH, g.OW, g.W, out, idx);
    return;
  }
  if (inside && g.kh == 2 && g.kw == 2) { max_pool_plane_inside<2, 2>(base, sH, g, out, idx); return; }
  if (inside && g.kh == 3 && g.kw == 3) { max_pool_plane_inside<3, 3>(base, sH, g, out, idx); return; }
  for (long oh = 0; oh < g.OH; oh++) {
    const long h0 = oh * g.sh - g.padTop;
    long i0 = 0, i1 = g.kh;
    while (i0 < g.kh && h0 + i0 * g.dh < 0) i0++;
    while (i1 > i0 && h0 + (i1 - 1) * g.dh >= g.H) i1--;
    for (long ow = 0; ow < g.OW; ow++) {
      const long w0 = ow * g.sw - g.padLeft;
      long j0 = 0, j1 = g.kw;
      while (j0 < g.kw && w0 + j0 * g.dw < 0) j0++;
      while (j1 > j0 && w0 + (j1 - 1) * g.dw >= g.W) j1--;
      float best = -__builtin_inff();
      long bi = (h0 + i0 * g.dh) * g.W + w0 + j0 * g.dw;
      for (long i = i0; i < i1; i++) {
        const long ih = h0 + i * g.dh;
        const float* row = base + ih * sH;
        for (long jj = j0; jj < j1; jj++) {
          const long iw = w0 + jj * g.dw;
          const float v = row[iw * sW];
          if (v > best || v != v) { best = v; bi = ih * g.W + iw; }
        }
      }
      out[oh * g.OW + ow] = best;
      idx[oh * g.OW + ow] = (int32_t)bi;
    }
  }
}

void max_pool_task(void* ctx, long t, int) {
  const PoolJob& j = *static_cast<const PoolJob*>(ctx);
  const long planes = j.g->N * j.g->C;
  long p0 = t * j.planes_per_task, p1 = p0 + j.planes_per_task < planes ? p0 + j.planes_per_task : planes;
  for (long p = p0; p < p1; p++) max_pool_plane(j, p);
}

struct PoolBackJob {
  const ConvKernels* ck;
  const float* g; const long* sg; long C, OH, OW; const int32_t* indices; long plane, W; float* out;
  bool blocks; // the windows may be the aligned 2×2 blocks (2·oh, 2·ow): written row pair by row pair
  long planes_per_task, planes;
  std::atomic<bool> bad;
};

void max_pool_back_task(void* ctx, long t, int) {
  PoolBackJob& j = *static_cast<PoolBackJob*>(ctx);
  long p0 = t * j.planes_per_task, p1 = p0 + j.planes_per_task < j.planes ? p0 + j.planes_per_task : j.planes;
  for (long p = p0; p < p1; p++) {
    const long n = p / j.C, c = p % j.C;
    const float* gp = j.g + n * j.sg[0] + c * j.sg[1];
    const int32_t* ip = j.indices + p * j.OH * j.OW;
    float* op = j.out + p * j.plane;
    // indices all in the aligned 2×2 blocks: every element written once, no clearing pass and no scatter
    if (j.blocks && j.ck->maxpool2x2_back_plane(gp, j.sg[2], ip, j.OH, j.OW, j.plane / j.W, j.W, op)) continue;
    memset(op, 0, sizeof(float) * (size_t)j.plane); // the plane stays in cache for the scatter below
    for (long oh = 0; oh < j.OH; oh++) {
      for (long ow = 0; ow < j.OW; ow++) {
        const int32_t k = ip[oh * j.OW + ow];
        if (k < 0 || k >= j.plane) { j.bad.store(true, std::memory_order_relaxed); continue; }
        op[k] += gp[oh * j.sg[2] + ow * j.sg[3]];
      }
    }
  }
}

/** Tasks of about `target` units each, at least one per thread when there is enough work. */
long per_task(long units, long work_per_unit) {
  const int threads = pool_threads();
  if (threads == 1 || units * work_per_unit < (1L << 15)) return units > 0 ? units : 1;
  long tasks = 4L * threads;
  if (tasks > units) tasks = units;
  return (units + tasks - 1) / tasks;
}

struct DirectJob {
  const ConvKernels* ck;
  const float* x; const long* sx; const Geometry* g; const float* w; long O; const float* bias; float* out;
  long planes_per_task;
};

void conv_direct_task(void* ctx, long t, int) {
  const DirectJob& j = *static_cast<const DirectJob*>(ctx);
  const Geometry& g = *j.g;
  const long planes = g.N * j.O, K = g.C * g.kh * g.kw;
  const long p0 = t * j.planes_per_task, p1 = p0 + j.planes_per_task < planes ? p0 + j.planes_per_task : planes;
  for (long p = p0; p < p1; p++) {
    const long n = p / j.O, o = p % j.O;
    j.ck->direct_plane(j.x + n * j.sx[0], j.sx[1], j.sx[2], g.C, g.kh, g.kw, g.OH, g.OW, j.w + o * K,
                       j.bias ? j.bias[o] : 0.0f, j.out + p * g.OH * g.OW);
  }
}

void conv_direct_image_task(void* ctx, long n, int) {
  const DirectJob& j = *static_cast<const DirectJob*>(ctx);
  const Geometry& g = *j.g;
  j.ck->direct_image(j.x + n * j.sx[0], j.sx[1], j.sx[2], g.C, g.kh, g.kw, g.OH, g.OW, j.w, j.O, j.bias,
                     j.out + n * j.O * g.OH * g.OW);
}

/** Small windows (≤ 9 taps): the weight gradient over fixed ranges of images, one partial sum each. */
struct DirectGradImagesJob {
  const ConvKernels* ck;
  const float* x; const long* sx; const Geometry* g; const float* gy; const long* sgy; long O;
  long per_task; float* parts; // per task: lane-wise sums [O, T + 1, width] (weights, then the bias)
};

void conv_direct_grad_images_task(void* ctx, long t, int) {
  const DirectGradImagesJob& j = *static_cast<const DirectGradImagesJob*>(ctx);
  const Geometry& g = *j.g;
  const long T = g.C * g.kh * g.kw, n0 = t * j.per_task, n1 = n0 + j.per_task < g.N ? n0 + j.per_task : g.N;
  float* part = j.parts + t * j.O * (T + 1) * j.ck->width;
  memset(part, 0, sizeof(float) * (size_t)(j.O * (T + 1) * j.ck->width));
  for (long n = n0; n < n1; n++) {
    j.ck->wgrad_image(j.x + n * j.sx[0], j.sx[1], j.sx[2], g.C, g.kh, g.kw, g.OH, g.OW, j.gy + n * j.sgy[0], j.sgy[1],
                      j.sgy[2], j.O, part);
  }
}

/** conv_direct_weight_grad for windows of ≤ 9 taps, over a fixed split of the images (not one per thread, so that
 *  the sums' order never depends on the threads); false (nothing written) when its buffer cannot be had. */
bool direct_weight_grad_images(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* gy,
                               const long* sgy, long O, float* gw, float* gb) {
  const long T = g.C * g.kh * g.kw;
  const long tasks = g.N < 8 ? g.N : 8, per = (g.N + tasks - 1) / tasks, used = (g.N + per - 1) / per;
  const ConvKernels* ck = conv_kernels(k);
  const long lanes = ck->width, sums = O * (T + 1);
  static thread_local Aligned parts;
  float* p = parts.get((size_t)(used * sums * lanes));
  if (!p) return false;
  DirectGradImagesJob j{ck, x, sx, &g, gy, sgy, O, per, p};
  if (pool_threads() == 1 || g.N * g.OH * g.OW * T * O < (1L << 15)) {
    for (long t = 0; t < used; t++) conv_direct_grad_images_task(&j, t, 0);
  } else {
    parallel_for(used, conv_direct_grad_images_task, &j);
  }
  for (long i = 0; i < sums; i++) { // lanes, then tasks in order, summed in double
    double s = 0.0;
    for (long t = 0; t < used; t++)
      for (long l = 0; l < lanes; l++) s += p[(t * sums + i) * lanes + l];
    const long q = i / (T + 1), t = i % (T + 1);
    if (t < T) gw[q * T + t] = (float)s;
    else if (gb) gb[q] = (float)s;
  }
  return true;
}

struct DirectGradJob {
  const ConvKernels* ck;
  const float* x; const long* sx; const Geometry* g; const float* gy; const long* sgy; long O; float* gw; float* gb;
};

/** Output channel o: its weights' gradient (and its bias's) summed over every image, in double. */
void conv_direct_grad_task(void* ctx, long o, int) {
  const DirectGradJob& j = *static_cast<const DirectGradJob*>(ctx);
  const Geometry& g = *j.g;
  const long K = g.C * g.kh * g.kw;
  double acc[1024], b = 0.0;
  for (long t = 0; t < K; t++) acc[t] = 0.0;
  for (long n = 0; n < g.N; n++) {
    j.ck->wgrad_plane(j.x + n * j.sx[0], j.sx[1], j.sx[2], g.C, g.kh, g.kw, g.OH, g.OW,
                      j.gy + n * j.sgy[0] + o * j.sgy[1], j.sgy[2], acc, &b);
  }
  for (long t = 0; t < K; t++) j.gw[o * K + t] = (float)acc[t];
  if (j.gb) j.gb[o] = (float)b;
}

struct ReluGradJob { const float* y; const float* g; float* out; long n, per; };

/** Branch-free (a select of g's bits), so the compiler vectorizes it and random signs cost no mispredictions. */
void relu_grad_range(const float* __restrict y, const float* __restrict g, float* __restrict out, long n) {
  for (long i = 0; i < n; i++) {
    const float gv = g[i];
    out[i] = y[i] > 0.0f ? gv : 0.0f;
  }
}

void relu_grad_task(void* ctx, long t, int) {
  const ReluGradJob& j = *static_cast<const ReluGradJob*>(ctx);
  const long i0 = t * j.per, i1 = i0 + j.per < j.n ? i0 + j.per : j.n;
  relu_grad_range(j.y + i0, j.g + i0, j.out + i0, i1 - i0);
}

} // namespace

void relu_grad(const float* y, const float* g, float* out, long n) {
  const int threads = pool_threads();
  if (threads == 1 || n < (1L << 16)) { relu_grad_range(y, g, out, n); return; }
  const long tasks = 4L * threads, per = ((n + tasks - 1) / tasks + 15) & ~15L;
  ReluGradJob j{y, g, out, n, per};
  parallel_for((n + per - 1) / per, relu_grad_task, &j);
}

bool conv_direct_fits(const Geometry& g) {
  return g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.padTop == 0 && g.padLeft == 0 &&
         g.OH == g.H - g.kh + 1 && g.OW == g.W - g.kw + 1 && g.C * g.kh * g.kw <= 1024;
}

void conv_direct(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* w, long O,
                 const float* bias, float* out) {
  const long planes = g.N * O;
  DirectJob j{conv_kernels(k), x, sx, &g, w, O, bias, out, per_task(planes, g.OH * g.OW * g.C * g.kh * g.kw)};
  if (g.C * g.kh * g.kw <= 9 && g.N > 0) { // every channel of an image per task, each input vector loaded once
    if (pool_threads() == 1 || planes * g.OH * g.OW * g.C * g.kh * g.kw < (1L << 15)) {
      for (long n = 0; n < g.N; n++) conv_direct_image_task(&j, n, 0);
    } else {
      parallel_for(g.N, conv_direct_image_task, &j);
    }
    return;
  }
  parallel_for((planes + j.planes_per_task - 1) / j.planes_per_task, conv_direct_task, &j);
}

void conv_direct_weight_grad(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* gy,
                             const long* sgy, long O, float* gw, float* gb) {
  const long T = g.C * g.kh * g.kw;
  if (T <= 9 && g.N > 0 && direct_weight_grad_images(k, x, sx, g, gy, sgy, O, gw, gb)) return;
  DirectGradJob j{conv_kernels(k), x, sx, &g, gy, sgy, O, gw, gb};
  if (pool_threads() == 1 || g.N * g.OH * g.OW * g.C * g.kh * g.kw * O < (1L << 15)) {
    for (long o = 0; o < O; o++) conv_direct_grad_task(&j, o, 0);
    return;
  }
  parallel_for(O, conv_direct_grad_task, &j);
}

void im2col_serial(const Kernels* k, const float* x, const long* sx, const Geometry& g, long n0, long nb, float* cols) {
  const ConvKernels* ck = conv_kernels(k);
  if (g.sw == 1 && sx[3] == 1 && g.padLeft == 0 && (g.OW - 1) + (g.kw - 1) * g.dw < g.W) { // windows inside sideways
    const long L = g.OH * g.OW;
    for (long n = 0; n < nb; n++)
      ck->im2col_image_plain(x + (n0 + n) * sx[0], sx[1], sx[2], g.C, g.kh, g.kw, g.dh, g.dw, g.sh, g.padTop, g.H, g.OH,
                             g.OW, cols + n * L, nb * L);
    return;
  }
  Im2colJob j{ck, x, sx, &g, n0, nb, cols, 0};
  im2col_rows(j, 0, g.C * g.kh * g.kw);
}

void col2im_serial(const Kernels* k, const float* cols, const Geometry& g, long n0, long nb, float* out) {
  Col2imJob j{conv_kernels(k), cols, &g, n0, nb, out};
  for (long p = 0; p < nb * g.C; p++) col2im_plane(j, p);
}

void im2col(const Kernels* k, const float* x, const long* sx, const Geometry& g, long n0, long nb, float* cols) {
  const long rows = g.C * g.kh * g.kw;
  Im2colJob j{conv_kernels(k), x, sx, &g, n0, nb, cols, per_task(rows, nb * g.OH * g.OW)};
  parallel_for((rows + j.rows_per_task - 1) / j.rows_per_task, im2col_task, &j);
}

void col2im(const Kernels* k, const float* cols, const Geometry& g, long n0, long nb, float* out) {
  Col2imJob j{conv_kernels(k), cols, &g, n0, nb, out};
  const long planes = nb * g.C;
  if (pool_threads() == 1 || g.C * g.kh * g.kw * nb * g.OH * g.OW < (1L << 15)) {
    for (long p = 0; p < planes; p++) col2im_plane(j, p);
    return;
  }
  parallel_for(planes, col2im_task, &j);
}

void max_pool2d(const Kernels* k, const float* x, const long* sx, const Geometry& g, float* out, int32_t* indices) {
  const long planes = g.N * g.C;
  PoolJob j{k, conv_kernels(k), x, sx, &g, out, indices, per_task(planes, g.OH * g.OW * g.kh * g.kw)};
  parallel_for((planes + j.planes_per_task - 1) / j.planes_per_task, max_pool_task, &j);
}

bool max_pool2d_backward(const Kernels* k, const float* g, const long* sg, long N, long C, long OH, long OW, const int32_t* indices,
                         long H, long W, float* out) {
  PoolBackJob j;
  j.ck = conv_kernels(k);
  j.g = g; j.sg = sg; j.C = C; j.OH = OH; j.OW = OW; j.indices = indices; j.plane = H * W; j.W = W; j.out = out;
  j.blocks = OH > 0 && OW > 0 && OH == H / 2 && OW == W / 2 && sg[3] == 1;
  j.planes = N * C;
  j.planes_per_task = per_task(j.planes, OH * OW);
  j.bad.store(false);
  parallel_for((j.planes + j.planes_per_task - 1) / j.planes_per_task, max_pool_back_task, &j);
  return !j.bad.load();
}

} // namespace nabla
