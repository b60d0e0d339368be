// The table of ISA-specific kernels (one per instruction set, chosen at load time) and the op codes
// shared with the TypeScript side (which maps op names to codes through the lists the addon exports).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace nabla {

enum UnaryCode {
  U_NEG, U_EXP, U_LOG, U_SQRT, U_ABS, U_SIGMOID, U_TANH, U_RELU, U_SIGN, U_RECIPROCAL,
  U_SIN, U_COS, U_ERF, U_FLOOR, U_CEIL, U_ROUND, U_COUNT
};
// arithmetic codes write float32, comparison codes (from B_EQ) write 0/1 bytes
enum BinaryCode {
  B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM,
  B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_COUNT
};

extern const char* const kUnaryNames[U_COUNT];
extern const char* const kBinaryNames[B_COUNT];

/** d = ±g + wd·p; with momentum b = first ? d : μ·b + (1 − τ)·d and d = nesterov ? d + μ·b : b; p −= lr·d. */
struct SgdParams {
  float lr, momentum, dampening, weight_decay;
  int nesterov, maximize, first;
};

/** g = ±g (+ wd·p, or p ·= 1 − lr·wd when decoupled); m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 *  v̂ = amsgrad ? vmax = max(vmax, v) : v; p −= step_size · m / (√v̂ / √bc2 + eps), step_size = lr / bc1. */
struct AdamParams {
  float lr, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2;
  int decoupled, maximize;
};

struct Kernels {
  const char* isa;
  // gemm micro-tile: MR rows × NR columns (NR = 2 vectors); the half kernel is MR × NR/2
  int mr, nr;
  /** C[mr×nr] (= or +=) Σ_k A(r, k) · bp[k·bs + j] for r < MR, j < NR (NR/2 for the half kernels), where
   *  A(r, k) = ap[k·as + r] (a packed panel, as = MR, or an operand stored that way) or, for the rows
   *  kernels, ap[r·as + k] (a row-major operand read in place); packed B panels have bs = NR.
   *  Index [rows][transposed C][half]: a transposed-C kernel writes element (r, j) to c[j·ldc + r]. */
  typedef void (*Ukernel)(long kc, const float* ap, long as, const float* bp, long bs, float* c, long ldc, int mr, int nr, int accumulate);
  Ukernel ukernels[2][2][2];
  /** The same on MR/2 rows of a packed panel (as = MR/2), for a last row panel that short: [transposed C][half]. */
  Ukernel ukernels_short[2][2];
  /** dst[k·P + l] = l < L ? src[l·ls + k·ks] : 0 for k < kc, l < P. */
  void (*pack)(const float* src, long ls, long ks, int L, int P, long kc, float* dst);

  /** y = op(x) over n contiguous floats (y may alias x). */
  void (*unary)(int op, const float* x, float* y, long n);
  /** y = op(a, b) over n elements; sa/sb = 1 for a contiguous operand, 0 for a scalar one. */
  void (*binary)(int op, const float* a, int sa, const float* b, int sb, float* y, long n);
  void (*compare)(int op, const float* a, int sa, const float* b, int sb, uint8_t* y, long n);
  void (*isnan)(const float* x, uint8_t* y, long n);
  /** y = c ? a : b; sc/sa/sb = 1 contiguous, 0 scalar. */
  void (*where)(const uint8_t* c, int sc, const float* a, int sa, const float* b, int sb, float* y, long n);
  /** Σ x[0..n) accumulated in float blocks, summed in double. */
  double (*sum)(const float* x, long n);
  /** acc[i] += Σ_{k<rows} x[k·ld + i] for i < n. */
  void (*sum_rows)(const float* x, long rows, long ld, long n, double* acc);
  /** max (sign > 0) or min of x[0..n), n ≥ 1; NaN if any element is NaN. */
  float (*extreme)(const float* x, long n, int sign);
  /** acc[i] = max/min(acc[i], x[k·ld + i]) over rows; nan[i] set to 1 where a NaN was seen. */
  void (*extreme_rows)(const float* x, long rows, long ld, long n, int sign, float* acc, uint8_t* nan);
  /** y[i] = a·x[i] + y[i] (axpy). */
  void (*axpy)(float a, const float* x, float* y, long n);

  /** One SGD step in place (see SgdParams); buf is null without momentum. */
  void (*sgd)(const struct SgdParams* q, float* p, const float* g, float* buf, long n);
  /** One Adam/AdamW step in place (see AdamParams); vmax is null without amsgrad. */
  void (*adam)(const struct AdamParams* q, float* p, const float* g, float* m, float* v, float* vmax, long n);

  /** out = g·y·(1 − y) (sigmoid, op 0) or g·(1 − y²) (tanh, op 1); sy/sg = 1 contiguous, 0 scalar. */
  void (*act_grad)(int op, const float* y, int sy, const float* g, int sg, float* out, long n);
  /** out = −(y·max(ln p, −100) + (1 − y)·max(ln(1 − p), −100)); returns the first i with p outside [0, 1], or −1. */
  long (*bce_forward)(const float* p, int sp, const float* y, int sy, float* out, long n);
  /** out = g·(p − y) / max(p·(1 − p), 1e-12). */
  void (*bce_backward)(const float* p, int sp, const float* y, int sy, const float* g, int sg, float* out, long n);

  /** One output row of 2×2 stride-2 max pooling over input rows r0, r1 (plane positions from p0, p1). */
  void (*maxpool2x2_row)(const float* r0, const float* r1, long n, int32_t p0, int32_t p1, float* out, int32_t* idx);
};

const Kernels* kernels_avx2();
const Kernels* kernels_avx512();

/** The direct-convolution kernels (conv_impl.h), one table per instruction set; see conv.h for the drivers. */
struct ConvKernels {
  /** Vector width in floats (the layout of wgrad_image's partial sums). */
  int width;
  /** One output plane: out[oh, ow] = bias + Σ_{c,i,j} w[(c·kh + i)·kw + j] · x[c, oh + i, ow + j] (rows of x contiguous). */
  void (*direct_plane)(const float* x, long sC, long sH, long C, long kh, long kw, long OH, long OW, const float* w,
                       float bias, float* out);
  /** One plane of the output gradient g: gw[(c·kh + i)·kw + j] += Σ g[oh, ow] · x[c, oh + i, ow + j], *gb += Σ g. */
  void (*wgrad_plane)(const float* x, long sC, long sH, long C, long kh, long kw, long OH, long OW, const float* g,
                      long sgH, double* gw, double* gb);
  /** dst[r·width + w] = src[r·ss + w] for r < rows, w < width (short rows, as im2col copies). */
  void (*copy_rows)(const float* src, long ss, long rows, long width, float* dst);
  /** All O output planes of one image (out [O, OH, OW]) for a window of C·kh·kw ≤ 9 taps, each input vector loaded
   *  once for every channel; false (nothing written) for a larger window. bias may be null. */
  bool (*direct_image)(const float* x, long sC, long sH, long C, long kh, long kw, long OH, long OW, const float* w,
                       long O, const float* bias, float* out);
  /** One image's share of the weight gradient for T = C·kh·kw ≤ 9 taps, added into lane-wise partial sums
   *  acc [O, T + 1, width] (64-byte aligned): Σ g[q]·x(tap t) at t < T, Σ g[q] at t = T, for the output gradient
   *  g [O, OH, OW] (channel stride sgO, row stride sgH); false (nothing added) for a larger window. */
  bool (*wgrad_image)(const float* x, long sC, long sH, long C, long kh, long kw, long OH, long OW, const float* g,
                      long sgO, long sgH, long O, float* acc);
  /** One plane of col2im at stride 1 (any padding and dilation), written in full: out [H, W] = the sum of this
   *  channel's kh·kw rows of cols (each OH·OW) at their taps' offsets. */
  void (*col2im_plane_s1)(const float* cols, long kh, long kw, long dh, long dw, long padTop, long padLeft, long OH,
                          long OW, long H, long W, float* out);
  /** A plane [H, W] of 2×2 stride-2 max pooling's backward (OH·OW windows, 2·OH ≤ H, 2·OW ≤ W), written in full:
   *  g[oh, ow] (row stride sgH, rows contiguous) at its index idx[oh·OW + ow], zeros elsewhere; false (the plane
   *  part-written) when an index lies outside its 2×2 block. */
  bool (*maxpool2x2_back_plane)(const float* g, long sgH, const int32_t* idx, long OH, long OW, long H, long W, float* out);
  /** im2col of one image into rows of cols (leading dimension ld) when no window leaves the image sideways (stride 1
   *  along rows, no left padding, rows contiguous); vertical padding and any row stride and dilation allowed. */
  void (*im2col_image_plain)(const float* x, long sC, long sH, long C, long kh, long kw, long dh, long dw, long sh,
                             long padTop, long H, long OH, long OW, float* cols, long ld);
  /** A plane of 2×2 stride-2 max pooling with every window inside (rows contiguous, row stride sH, W columns):
   *  out [OH, OW] and the argmax plane positions idx, as the row kernel maxpool2x2_row. */
  void (*maxpool2x2_plane)(const float* x, long sH, long OH, long OW, long W, float* out, int32_t* idx);
};
const ConvKernels* conv_kernels_avx2();
const ConvKernels* conv_kernels_avx512();

} // namespace nabla
