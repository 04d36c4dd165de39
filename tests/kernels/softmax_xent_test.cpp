#include "parti/kernels/softmax_xent.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

TEST(SoftmaxXent, BackwardMatchesFiniteDifferencesWithPadding) {
  const int N = 5, V = 11, Vp = 16;
  auto logits = test::random_vector(N * Vp, 41, 2.0);
  const int32_t targets[N] = {0, 10, 3, 3, 7};
  const double dloss = 1.0 / N;
  auto loss = [&] {
    std::vector<double> work = logits, losses(N);
    softmax_xent_forward<double>(losses.data(), work.data(), targets, N, V, Vp);
    double sum = 0;
    for (double l : losses) sum += l * dloss;
    return sum;
  };
  std::vector<double> work = logits, losses(N);
  softmax_xent_forward<double>(losses.data(), work.data(), targets, N, V, Vp);
  softmax_xent_backward<double>(work.data(), targets, dloss, N, V, Vp);
  EXPECT_LT(test::relative_error(work, test::numeric_gradient(logits.data(), logits.size(), loss)),
            test::kGradTolerance);
  for (int n = 0; n < N; ++n) {
    for (int j = V; j < Vp; ++j) {
      EXPECT_EQ(work[n * Vp + j], 0.0) << "padding column " << j << " got a gradient";
    }
  }
}

TEST(SoftmaxXent, LossIsLogSumExpMinusTarget) {
  double logits[4] = {1.0, 2.0, 3.0, 100.0};  // last column is padding
  const int32_t target = 1;
  double loss = 0;
  softmax_xent_forward<double>(&loss, logits, &target, 1, 3, 4);
  EXPECT_NEAR(loss, std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 2.0, 1e-12);
}

}  // namespace
}  // namespace parti::kernels
