// The machine's single-precision GEMM ceiling as Parti's BLAS sees it: the best sgemm rate over
// square and transformer-shaped products, with the same kernel selection and thread setting as
// `parti train`. Usage: gemm_ceiling [threads]. Last line: {"gflops": .., "kernel": ".."}.
#include <cstdio>
#include <cstdlib>

#include "parti/core/cpu.h"

int main(int argc, char** argv) {
  parti::core::select_blas_kernel(argv);
  parti::core::set_threads(argc > 1 ? std::atoi(argv[1]) : 1);
  struct Shape {
    int m, n, k;
  };
  const Shape shapes[] = {{1024, 1024, 1024}, {2048, 2048, 2048}, {1024, 2304, 768},
                          {1024, 3072, 768},  {1024, 768, 3072},  {1024, 50304, 768}};
  double best = 0;
  for (const Shape& s : shapes) {
    double g = parti::core::measure_sgemm_gflops(s.m, s.n, s.k, 3);
    best = std::max(best, g);
    std::printf("sgemm %5d x %5d x %5d: %7.1f GFLOP/s\n", s.m, s.n, s.k, g);
  }
  std::printf("{\"gflops\": %.1f, \"compute\": \"%s\"}\n", best,
              parti::core::describe_compute().c_str());
  return 0;
}
