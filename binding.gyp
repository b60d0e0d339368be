{
  "targets": [
    {
      "target_name": "nabla_kernels_avx2",
      "type": "static_library",
      "sources": ["native/src/kernels_avx2.cc"],
      "cflags_cc": ["-O3", "-fPIC", "-mavx2", "-mfma", "-ffp-contract=fast", "-fno-math-errno", "-Wno-maybe-uninitialized"],
      "cflags_cc!": ["-O0"]
    },
    {
      "target_name": "nabla_kernels_avx512",
      "type": "static_library",
      "sources": ["native/src/kernels_avx512.cc"],
      "cflags_cc": ["-O3", "-fPIC", "-mavx2", "-mfma", "-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl",
                    "-ffp-contract=fast", "-fno-math-errno", "-Wno-maybe-uninitialized"],
      "cflags_cc!": ["-O0"]
    },
    {
      "target_name": "nabla_native",
      "sources": ["native/src/addon.cc", "native/src/conv.cc", "native/src/conv_gemm.cc", "native/src/gemm.cc", "native/src/ops.cc", "native/src/pool.cc"],
      "dependencies": ["nabla_kernels_avx2", "nabla_kernels_avx512"],
      "cflags_cc": ["-O3", "-fno-math-errno"],
      "cflags_cc!": ["-O0"],
      "libraries": ["-lpthread"]
    }
  ]
}
