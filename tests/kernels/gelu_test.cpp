#include "parti/kernels/gelu.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

TEST(Gelu, BackwardMatchesFiniteDifferences) {
  const size_t n = 37;
  auto inp = test::random_vector(n, 21, 2.0);
  auto R = test::random_vector(n, 22);
  std::vector<double> out(n);
  auto loss = [&] {
    gelu_forward<double>(out.data(), inp.data(), n);
    return test::dot(out, R);
  };
  std::vector<double> dinp(n, 0.0);
  gelu_backward<double>(dinp.data(), inp.data(), R.data(), n);
  EXPECT_LT(test::relative_error(dinp, test::numeric_gradient(inp.data(), n, loss)),
            test::kGradTolerance);
}

TEST(Gelu, KnownValues) {
  // torch.nn.functional.gelu(torch.tensor([-1., 0., 1., 3.], dtype=torch.float64),
  //                          approximate='tanh')
  const double inp[] = {-1.0, 0.0, 1.0, 3.0};
  const double expected[] = {-0.15880800939172324, 0.0, 0.8411919906082768, 2.996362607918227};
  double out[4];
  gelu_forward<double>(out, inp, 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(out[i], expected[i], 1e-12);
  }
}

}  // namespace
}  // namespace parti::kernels
