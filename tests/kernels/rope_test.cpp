#include "parti/kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

// Two tokens' heads interleaved with a third (stride): only the rotated heads change.
TEST(Rope, BackwardMatchesFiniteDifferences) {
  const int B = 2, Tn = 5, heads = 3, hd = 8;
  const size_t stride = static_cast<size_t>(heads * hd + 4);
  auto x = test::random_vector(static_cast<size_t>(B * Tn) * stride, 31);
  auto R = test::random_vector(x.size(), 32);
  const int32_t positions[Tn] = {0, 3, 4, 9, 17};
  std::vector<double> y;
  auto loss = [&] {
    y = x;
    rope_forward<double>(y.data(), B, Tn, heads, hd, stride, 10000.0, positions);
    return test::dot(y, R);
  };
  loss();
  std::vector<double> dx = R;
  rope_backward<double>(dx.data(), B, Tn, heads, hd, stride, 10000.0, positions);
  EXPECT_LT(test::relative_error(dx, test::numeric_gradient(x.data(), x.size(), loss)),
            test::kGradTolerance);
}

// Hugging Face's convention: dimension i turns with i + hd/2 by pos * theta^(-2i/hd); position 0
// leaves everything as it is.
TEST(Rope, TurnsPairsOfHalvesByThePositionsAngle) {
  const int hd = 4;
  const double theta = 500000.0;
  std::vector<double> x = {1, 2, 3, 4, 1, 2, 3, 4};  // two tokens, one head
  rope_forward<double>(x.data(), 1, 2, 1, hd, hd, theta);
  EXPECT_EQ(x[0], 1.0);
  EXPECT_EQ(x[3], 4.0);
  for (int i = 0; i < 2; ++i) {
    const double angle = 1.0 / std::pow(theta, 2.0 * i / hd);  // at position 1
    const double a = 1 + i, b = 3 + i;
    EXPECT_NEAR(x[4 + i], a * std::cos(angle) - b * std::sin(angle), 1e-6);
    EXPECT_NEAR(x[4 + i + 2], b * std::cos(angle) + a * std::sin(angle), 1e-6);
  }
}

}  // namespace
}  // namespace parti::kernels
