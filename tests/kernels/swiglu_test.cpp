#include "parti/kernels/swiglu.h"

#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace parti::kernels
