#include "parti/kernels/layernorm.h"

#include <gtest/gtest.h>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

TEST(LayerNorm, BackwardMatchesFiniteDifferences) {
  const int N = 6, C = 13;
  auto inp = test::random_vector(N * C, 11);
  auto weight = test::random_vector(C, 12);
  auto bias = test::random_vector(C, 13);
  auto R = test::random_vector(N * C, 14);
  std::vector<double> out(N * C), mean(N), rstd(N);
  auto loss = [&] {
    layernorm_forward<double>(out.data(), mean.data(), rstd.data(), inp.data(), weight.data(),
                              bias.data(), N, C);
    return test::dot(out, R);
  };
  loss();
  std::vector<double> dinp(N * C, 0.0), dweight(C, 0.0), dbias(C, 0.0);
  layernorm_backward<double>(dinp.data(), dweight.data(), dbias.data(), R.data(), inp.data(),
                             weight.data(), mean.data(), rstd.data(), N, C);
  EXPECT_LT(test::relative_error(dinp, test::numeric_gradient(inp.data(), inp.size(), loss)),
            test::kGradTolerance);
  EXPECT_LT(test::relative_error(dweight, test::numeric_gradient(weight.data(), C, loss)),
            test::kGradTolerance);
  EXPECT_LT(test::relative_error(dbias, test::numeric_gradient(bias.data(), C, loss)),
            test::kGradTolerance);
}

TEST(LayerNorm, NormalisesEachRow) {
  const int N = 3, C = 8;
  auto inp = test::random_vector(N * C, 15, 3.0);
  std::vector<double> weight(C, 1.0), bias(C, 0.0), out(N * C), mean(N), rstd(N);
  layernorm_forward<double>(out.data(), mean.data(), rstd.data(), inp.data(), weight.data(),
                            bias.data(), N, C);
  for (int n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int c = 0; c < C; ++c) m += out[n * C + c] / C;
    for (int c = 0; c < C; ++c) v += (out[n * C + c] - m) * (out[n * C + c] - m) / C;
    EXPECT_NEAR(m, 0.0, 1e-12);
    EXPECT_NEAR(v, 1.0, 1e-4);  // eps = 1e-5 inside the root
  }
}

}  // namespace
}  // namespace parti::kernels
