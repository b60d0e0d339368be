// The kernel table for AVX2 (this file alone is compiled with the AVX2 flags; see binding.gyp).
#include "kernels.h"
#include "simd_avx2.h"

namespace nabla_avx2 {
#include "kernels_impl.h"
#include "conv_impl.h"
} // namespace nabla_avx2

const nabla::Kernels* nabla::kernels_avx2() { return &nabla_avx2::kTable; }
const nabla::ConvKernels* nabla::conv_kernels_avx2() { return &nabla_avx2::kConvTable; }
