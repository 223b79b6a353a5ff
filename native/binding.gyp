# Build recipe of the oneDNN addon (lrq_native.node): C++17, -O3 AVX2/FMA loops (no FMA contraction, so
# float results match torch's; no trapping math, so selects vectorize as blends — FP exceptions stay masked), OpenMP (the same
# libgomp runtime Debian's libdnnl uses, so one thread pool serves both), linked against -ldnnl.
{
  "targets": [
    {
      "target_name": "lrq_native",
      "sources": ["src/addon.cc", "src/dnnl_ops.cc", "src/loops.cc", "src/direct.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags": ["-O3", "-mavx2", "-mfma", "-ffp-contract=off", "-fno-trapping-math", "-fopenmp", "-fexceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx2", "-mfma", "-ffp-contract=off", "-fno-trapping-math", "-fopenmp", "-fexceptions", "-frtti"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
