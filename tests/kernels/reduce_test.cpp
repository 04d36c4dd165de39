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
    for (int r = 0; r < N; ++r) exact += double{inp[static_cast<size_t>(r * C + c)]};
    EXPECT_NEAR(one[c], exact, 1e-4);
  }
}

TEST(Reduce, SumSquares) {
  const float x[3] = {1.0f, -2.0f, 3.0f};
  EXPECT_EQ(sum_squares<float>(x, 3), 14.0);
}

}  // namespace
}  // namespace parti::kernels
