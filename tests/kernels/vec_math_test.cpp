#include "parti/kernels/vec_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "parti/kernels/gelu.h"

namespace parti::kernels {
namespace {

TEST(VecMath, ExpRelativeErrorBelow2e7) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.001953125f) {
    const double exact = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(static_cast<double>(fast_exp(x)) - exact) / exact);
  }
  EXPECT_LT(worst, 2e-7);
  EXPECT_EQ(fast_exp(-1000.0f) < 1e-37f, true);  // clamped, no NaN
}

TEST(VecMath, TanhAbsoluteErrorBelow3e7) {
  double worst = 0;
  for (float x = -20.0f; x <= 20.0f; x += 0.0009765625f) {
    worst = std::max(
        worst, std::abs(static_cast<double>(fast_tanh(x)) - std::tanh(static_cast<double>(x))));
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(fast_tanh(100.0f), 1.0f);
  EXPECT_EQ(fast_tanh(-100.0f), -1.0f);
}

TEST(VecMath, FloatGeluAgreesWithDouble) {
  std::vector<float> x(1001), out(x.size()), dx(x.size(), 0.0f), dy(x.size(), 1.0f);
  std::vector<double> xd(x.size()), outd(x.size()), dxd(x.size(), 0.0), dyd(x.size(), 1.0);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = -8.0f + 0.016f * static_cast<float>(i);
    xd[i] = static_cast<double>(x[i]);
  }
  gelu_forward<float>(out.data(), x.data(), x.size());
  gelu_forward<double>(outd.data(), xd.data(), x.size());
  gelu_backward<float>(dx.data(), x.data(), dy.data(), x.size());
  gelu_backward<double>(dxd.data(), xd.data(), dyd.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(out[i], outd[i], 2e-6 * (1 + std::abs(outd[i])));
    EXPECT_NEAR(dx[i], dxd[i], 2e-6);
  }
}

TEST(VecMath, ExpShiftedSum) {
  std::vector<float> x = {1.0f, 2.0f, 3.0f, -1.0f, 0.5f};
  const float sum = exp_shifted_sum(x.data(), 5, 3.0f);
  double expected = 0;
  for (double v : {1.0, 2.0, 3.0, -1.0, 0.5}) expected += std::exp(v - 3.0);
  EXPECT_NEAR(sum, expected, 1e-6);
  EXPECT_NEAR(x[2], 1.0f, 1e-7);
}

TEST(VecMath, RowMax) {
  std::vector<float> x(1003);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>((static_cast<int>(i * 7919 % 1009) - 500)) * 0.25f;
  }
  for (int n : {1, 2, 7, 8, 9, 17, 1003}) {
    float expect = x[0];
    for (int i = 1; i < n; ++i) {
      expect = std::max(expect, x[static_cast<size_t>(i)]);
    }
    EXPECT_EQ(row_max(x.data(), n), expect) << n;
  }
  x[500] = 1e30f;
  EXPECT_EQ(row_max(x.data(), 1003), 1e30f);
}

}  // namespace
}  // namespace parti::kernels
