// The machine's single-precision GEMM ceiling as Parti's BLAS sees it: the best sgemm rate over
// square and transformer-shaped products, with the same kernel selection and thread setting as
// `parti train`. Usage: gemm_ceiling [threads]. Last line: {"gflops": .., "kernel": ".."}.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "parti/core/cpu.h"

namespace {

double rate(int m, int n, int k) {
  std::vector<float> a(static_cast<size_t>(m) * static_cast<size_t>(k), 0.5f);
  std::vector<float> b(static_cast<size_t>(k) * static_cast<size_t>(n), 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * static_cast<size_t>(n));
  double best = 0;
  for (int r = 0; r < 4; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(),
                n, 0.0f, c.data(), n);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * m * n * static_cast<double>(k) / s / 1e9);
  }
  return best;
}

}  // namespace

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
    double g = rate(s.m, s.n, s.k);
    best = std::max(best, g);
    std::printf("sgemm %5d x %5d x %5d: %7.1f GFLOP/s\n", s.m, s.n, s.k, g);
  }
  std::printf("{\"gflops\": %.1f, \"compute\": \"%s\"}\n", best,
              parti::core::describe_compute().c_str());
  return 0;
}
