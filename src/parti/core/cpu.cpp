#include "parti/core/cpu.h"

#include <cblas.h>
#include <malloc.h>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <vector>

#include "parti/core/check.h"

extern "C" char* openblas_get_corename(void);
extern "C" char* openblas_get_config(void);

namespace parti::core {
namespace {

// The fastest OpenBLAS core type this CPU's flags allow (empty: leave the detection alone).
const char* best_coretype() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return "Haswell";
  }
  return "";
}

bool is_generic(std::string_view core) {
  for (std::string_view generic :
       {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine",
        "Northwood", "Banias", "Barcelona", "Opteron", "Sandybridge", "Bulldozer"}) {
    if (core == generic) {
      return true;
    }
  }
  return false;
}

}  // namespace

void select_blas_kernel(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) {
    return;  // the user's choice stands
  }
  const char* best = best_coretype();
  if (*best == '\0' || !is_generic(openblas_get_corename())) {
    return;
  }
  setenv("OPENBLAS_CORETYPE", best, 1);
  execv("/proc/self/exe", argv);
  // execv failed: carry on with the generic kernel; describe_compute() shows which one runs.
}

void keep_freed_memory() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
}

void set_threads(int threads) {
  PARTI_CHECK(threads >= 1, ConfigError, "--threads must be at least 1, got ", threads);
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int threads() { return omp_get_max_threads(); }

std::string describe_compute() {
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  return str_cat("OpenBLAS kernel ", openblas_get_corename(),
                 forced != nullptr ? str_cat(" (OPENBLAS_CORETYPE=", forced, ")") : "", ", ",
                 threads(), " threads");
}

double measure_sgemm_gflops(int m, int n, int k, int repeats) {
  std::vector<float> a(static_cast<size_t>(m) * static_cast<size_t>(k), 0.5f);
  std::vector<float> b(static_cast<size_t>(k) * static_cast<size_t>(n), 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * static_cast<size_t>(n));
  double best = 0.0;
  for (int r = -1; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(), n,
                0.0f, c.data(), n);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r >= 0) {
      best = std::max(best, 2.0 * m * n * static_cast<double>(k) / s / 1e9);
    }
  }
  return best;
}

}  // namespace parti::core
