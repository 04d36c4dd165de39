#include "parti/kernels/reduce.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <vector>

namespace parti::kernels {
namespace {

TEST(Reduce, ColumnSumsAreExactAndThreadCountIndependent) {
  const int N = 3 * kRowBlock + 5, C = 7;
  std::vector<float> inp(static_cast<size_t>(N * C));
  for (size_t i = 0; i < inp.size(); ++i) {
    inp[i] = 1.0f / static_cast<float>(1 + i % 13);
  }
  std::vector<float> one(C, 0.0f), two(C, 0.0f);
  omp_set_num_threads(1);
  column_sum_accumulate<float>(one.data(), inp.data(), N, C);
  omp_set_num_threads(2);
  column_sum_accumulate<float>(two.data(), inp.data(), N, C);
  for (int c = 0; c < C; ++c) {
    EXPECT_EQ(one[c], two[c]);  // bit for bit
    double exact = 0;
    for (int r = 0; r < N; ++r) exact += static_cast<double>(inp[static_cast<size_t>(r * C + c)]);
    EXPECT_NEAR(one[c], exact, 1e-4);
  }
}

TEST(Reduce, SumSquares) {
  const float x[3] = {1.0f, -2.0f, 3.0f};
  EXPECT_EQ(sum_squares<float>(x, 3), 14.0);
}

TEST(Reduce, SumSquaresAgreesWithDoubleAndIsThreadCountIndependent) {
  // Several 2^16 blocks and a ragged tail (lanes of 8 inside each block).
  std::vector<float> x(3 * (1 << 16) + 13);
  long double exact = 0.0L;
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>((static_cast<int>(i * 7919 % 2003) - 1001) * 1e-3);
    exact += static_cast<long double>(x[i]) * static_cast<long double>(x[i]);
  }
  omp_set_num_threads(1);
  const double one = sum_squares<float>(x.data(), x.size());
  omp_set_num_threads(2);
  const double two = sum_squares<float>(x.data(), x.size());
  EXPECT_EQ(one, two);
  EXPECT_NEAR(one, static_cast<double>(exact), 1e-12 * static_cast<double>(exact));
  for (size_t n = 1; n < 20; ++n) {  // every tail length
    double expect = 0.0;
    for (size_t i = 0; i < n; ++i) {
      expect += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    }
    EXPECT_NEAR(sum_squares<float>(x.data(), n), expect, 1e-15 * expect) << n;
  }
}

}  // namespace
}  // namespace parti::kernels
