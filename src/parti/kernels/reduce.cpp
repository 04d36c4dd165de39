#include "parti/kernels/reduce.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace parti::kernels {
namespace {

// Per-block partial sums; grows while warming up, then reused.
template <typename T>
std::vector<T>& partials() {
  thread_local std::vector<T> buffer;
  return buffer;
}

}  // namespace

template <typename T>
void column_sum2_accumulate(T* out_a, T* out_b, const T* a, const T* b, int N, int C) {
  int blocks = (N + kRowBlock - 1) / kRowBlock;
  int sums = b != nullptr ? 2 : 1;
  std::vector<T>& part = partials<T>();
  part.assign(static_cast<size_t>(blocks) * static_cast<size_t>(sums * C), T(0));
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < blocks; ++blk) {
    T* pa = part.data() + static_cast<size_t>(blk) * static_cast<size_t>(sums * C);
    T* pb = pa + C;
    for (int r = blk * kRowBlock; r < std::min(N, (blk + 1) * kRowBlock); ++r) {
      const T* ra = a + static_cast<size_t>(r) * static_cast<size_t>(C);
      for (int c = 0; c < C; ++c) {
        pa[c] += ra[c];
      }
      if (b != nullptr) {
        const T* rb = b + static_cast<size_t>(r) * static_cast<size_t>(C);
        for (int c = 0; c < C; ++c) {
          pb[c] += rb[c];
        }
      }
    }
  }
  // The blocks' sums in block order (into the first block's), then one addition into out: the
  // bits of out + sum do not depend on whether out held earlier gradients (a deferred weight
  // gradient, summed into zeros and added later, equals an undeferred one exactly).
  T* total = part.data();
  for (int blk = 1; blk < blocks; ++blk) {
    const T* pa = part.data() + static_cast<size_t>(blk) * static_cast<size_t>(sums * C);
    for (int c = 0; c < sums * C; ++c) {
      total[c] += pa[c];
    }
  }
  if (blocks > 0) {
    for (int c = 0; c < C; ++c) {
      out_a[c] += total[c];
    }
    if (b != nullptr) {
      for (int c = 0; c < C; ++c) {
        out_b[c] += total[C + c];
      }
    }
  }
}

template <typename T>
void column_sum_accumulate(T* out, const T* inp, int N, int C) {
  column_sum2_accumulate<T>(out, nullptr, inp, nullptr, N, C);
}

template <typename T>
double sum_squares(const T* x, size_t n) {
  // Fixed blocks summed in parallel, then in block order: the same bits for any thread count.
  constexpr size_t kBlock = 1 << 16;
  const auto blocks = static_cast<int64_t>((n + kBlock - 1) / kBlock);
  std::vector<double>& part = partials<double>();
  part.assign(static_cast<size_t>(blocks), 0.0);
  double* sums = part.data();
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const size_t begin = static_cast<size_t>(b) * kBlock;
    const size_t end = std::min(n, begin + kBlock);
    // Eight running sums (element i into lane i mod 8), added in a fixed tree: independent
    // chains that vectorize, and still the same bits for any thread count.
    double lane[8] = {};
    size_t i = begin;
    for (; i + 8 <= end; i += 8) {
      for (size_t l = 0; l < 8; ++l) {
        lane[l] += static_cast<double>(x[i + l]) * static_cast<double>(x[i + l]);
      }
    }
    for (; i < end; ++i) {
      lane[(i - begin) & 7] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    }
    sums[b] =
        ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  }
  double total = 0.0;
  for (int64_t b = 0; b < blocks; ++b) {
    total += sums[b];
  }
  return total;
}

template void column_sum_accumulate<float>(float*, const float*, int, int);
template void column_sum_accumulate<double>(double*, const double*, int, int);
template void column_sum2_accumulate<float>(float*, float*, const float*, const float*, int, int);
template void column_sum2_accumulate<double>(double*, double*, const double*, const double*, int,
                                             int);
template double sum_squares<float>(const float*, size_t);
template double sum_squares<double>(const double*, size_t);

}  // namespace parti::kernels
