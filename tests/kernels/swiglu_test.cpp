#include "parti/kernels/swiglu.h"

#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <cmath>
#include <vector>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

TEST(SwiGlu, BackwardMatchesFiniteDifferences) {
  const size_t n = 40;
  auto gate = test::random_vector(n, 41, 3.0);
  auto up = test::random_vector(n, 42);
  auto R = test::random_vector(n, 43);
  std::vector<double> out(n);
  auto loss = [&] {
    swiglu_forward<double>(out.data(), gate.data(), up.data(), n);
    return test::dot(out, R);
  };
  loss();
  std::vector<double> dgate(n, 0.0), dup(n, 0.0);
  swiglu_backward<double>(dgate.data(), dup.data(), R.data(), gate.data(), up.data(), n);
  EXPECT_LT(test::relative_error(dgate, test::numeric_gradient(gate.data(), n, loss)),
            test::kGradTolerance);
  EXPECT_LT(test::relative_error(dup, test::numeric_gradient(up.data(), n, loss)),
            test::kGradTolerance);
}

TEST(SwiGlu, IsSiluOfTheGateTimesUp) {
  const double gate[3] = {-2.0, 0.0, 1.5}, up[3] = {3.0, 7.0, -0.5};
  double out[3];
  swiglu_forward<double>(out, gate, up, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(out[i], gate[i] / (1 + std::exp(-gate[i])) * up[i], 1e-15);
  }
}

TEST(SwiGlu, FloatAgreesWithDoubleOverTheWholeRangeAndKeepsTheFloatMode) {
  // The float path is vectorized (kernels/vec_math.h) and flushes denormals within its scope.
  std::vector<float> gate, up, dout;
  for (int i = -1000; i <= 1000; ++i) {
    gate.push_back(static_cast<float>(i) * 0.12f);  // -120 .. 120: both clamps of exp
    up.push_back(0.5f + static_cast<float>((i * 37) % 11) * 0.1f);
    dout.push_back(static_cast<float>((i * 13) % 7) * 0.3f - 1.0f);
  }
  const size_t n = gate.size();
  std::vector<float> out(n), dgate(n, 0.0f), dup(n, 0.0f);
  const unsigned kControl = ~0x3fu;  // MXCSR without its sticky exception flags
  const unsigned mode = _mm_getcsr() & kControl;
  swiglu_forward<float>(out.data(), gate.data(), up.data(), n);
  swiglu_backward<float>(dgate.data(), dup.data(), dout.data(), gate.data(), up.data(), n);
  EXPECT_EQ(_mm_getcsr() & kControl, mode);
  for (size_t i = 0; i < n; ++i) {
    const auto g = static_cast<double>(gate[i]), u = static_cast<double>(up[i]),
               d = static_cast<double>(dout[i]);
    const double s = 1.0 / (1.0 + std::exp(-g));
    EXPECT_NEAR(out[i], g * s * u, 1e-6 * (1.0 + std::abs(g * s * u))) << g;
    EXPECT_NEAR(dgate[i], d * u * s * (1.0 + g * (1.0 - s)), 1e-6 * (1.0 + std::abs(d * u))) << g;
    EXPECT_NEAR(dup[i], d * g * s, 1e-6 * (1.0 + std::abs(d * g))) << g;
  }
}

}  // namespace
}  // namespace parti::kernels
