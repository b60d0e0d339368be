// The kernel table for AVX512 (this file alone is compiled with the AVX512 flags; see binding.gyp).
#include "kernels.h"
#include "simd_avx512.h"

namespace nabla_avx512 {
#include "kernels_impl.h"
#include "conv_impl.h"
} // namespace nabla_avx512

const nabla::Kernels* nabla::kernels_avx512() { return &nabla_avx512::kTable; }
const nabla::ConvKernels* nabla::conv_kernels_avx512() { return &nabla_avx512::kConvTable; }
