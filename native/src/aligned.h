// A growable 64-byte-aligned float buffer: work space kept between calls (gemm's packed panels, conv's columns).
#pragma once
#include <stddef.h>
#include <stdlib.h>

namespace nabla {

struct Aligned {
  float* p = nullptr;
  size_t cap = 0;
  /** Room for n floats (the old contents are not kept when it grows); null when out of memory. */
  float* get(size_t n) {
    if (n > cap) {
      free(p);
      size_t bytes = ((n * sizeof(float)) + 63) & ~(size_t)63;
      p = static_cast<float*>(aligned_alloc(64, bytes ? bytes : 64));
      cap = p ? n : 0;
    }
    return p;
  }
  ~Aligned() { free(p); }
};

} // namespace nabla
