// Convolution and pooling kernels over NCHW float32 images (the native versions of the reference
// backend's im2col / col2im / maxPool2d / maxPool2dBackward), split over the thread pool.
#pragma once
#include <stdint.h>
#include <stdlib.h>

#include "aligned.h"
#include "kernels.h"

namespace nabla {

/** Sliding-window geometry, as Conv2dGeometry in src/backend/backend.ts. */
struct Geometry {
  long N, C, H, W, kh, kw, sh, sw, padTop, padLeft, dh, dw, OH, OW;
};

/** cols [C·kh·kw, nb·OH·OW] from images n0 … n0+nb−1 of x (strides sx in elements), zeros for padding. */
void im2col(const Kernels* k, const float* x, const long* sx, const Geometry& g, long n0, long nb, float* cols);
/** The planes of images n0 … n0+nb−1 of out [N, C, H, W] (contiguous) = the adjoint of im2col of image-major cols
 *  [nb, C·kh·kw, OH·OW] (cleared first, so out need not be). */
void col2im(const Kernels* k, const float* cols, const Geometry& g, long n0, long nb, float* out);
/** im2col and col2im on the calling thread alone (for drivers whose pool tasks each own some images). */
void im2col_serial(const Kernels* k, const float* x, const long* sx, const Geometry& g, long n0, long nb, float* cols);
void col2im_serial(const Kernels* k, const float* cols, const Geometry& g, long n0, long nb, float* out);
/** out[i] = y[i] > 0 ? g[i] : 0 for i < n: the gradient of the ReLU between convolution layers, from its output. */
void relu_grad(const float* y, const float* g, float* out, long n);
/** True when the direct kernels below take this geometry: stride 1, no dilation, no padding. */
bool conv_direct_fits(const Geometry& g);
/** out [N, O, OH, OW] (contiguous) = conv(x, w) + bias (bias may be null) for w [O, C, kh, kw] contiguous, x rows
 *  contiguous (sx[3] = 1); threaded over output planes. */
void conv_direct(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* w, long O,
                 const float* bias, float* out);
/** gw [O, C, kh, kw] = Σ_n Σ_{oh,ow} gy[n, o, oh, ow] · x[n, c, oh + i, ow + j], and gb [O] = Σ gy over (n, oh, ow)
 *  when gb is not null; gy strided (sgy, rows contiguous); threaded over output channels. */
void conv_direct_weight_grad(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* gy,
                             const long* sgy, long O, float* gw, float* gb);
/** Convolution as products over a few images per pool task (conv_gemm.cc), for layers im2col + gemm suits:
 *  out [N, O, OH, OW] (contiguous) = conv(x, w) + bias (bias may be null), w [O, C·kh·kw] contiguous. False (with
 *  out possibly part-written) when an image's columns or product are too large for one task. */
bool conv_gemm(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* w, long O,
               const float* bias, float* out);
/** out [N, C, H, W] (contiguous, written in full) = the input gradient for gy [N, O, OH, OW] contiguous. */
bool conv_gemm_input_grad(const Kernels* k, const float* gy, const Geometry& g, const float* w, long O, float* out);
/** gw [O, C·kh·kw] = Σ_n gy[n] · cols(x[n])ᵀ and gb [O] = Σ gy over (n, oh, ow) when gb is not null; gy contiguous. */
bool conv_gemm_weight_grad(const Kernels* k, const float* x, const long* sx, const Geometry& g, const float* gy, long O,
                           float* gw, float* gb);
/** Max over windows (padding skipped, NaN wins) into out [N, C, OH, OW], argmax h·W + w into indices. */
void max_pool2d(const Kernels* k, const float* x, const long* sx, const Geometry& g, float* out, int32_t* indices);
/** out[n, c, indices[…]] += g[n, c, oh, ow] into out contiguous [N, C, H, W], cleared here plane by plane; g strided [N, C, OH, OW].
 *  Returns false (and writes nothing for that element) when an index is outside the plane. */
bool max_pool2d_backward(const Kernels* k, const float* g, const long* sg, long N, long C, long OH, long OW, const int32_t* indices,
                         long H, long W, float* out);

} // namespace nabla
