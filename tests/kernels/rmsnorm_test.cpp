#include "parti/kernels/rmsnorm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

TEST(RmsNorm, BackwardMatchesFiniteDifferences) {
  const int N = 6, C = 13;
  auto inp = test::random_vector(N * C, 21);
  auto weight = test::random_vector(C, 22);
  auto R = test::random_vector(N * C, 23);
  std::vector<double> out(N * C), rstd(N);
  auto loss = [&] {
    rmsnorm_forward<double>(out.data(), rstd.data(), inp.data(), weight.data(), N, C, 1e-5);
    return test::dot(out, R);
  };
  loss();
  std::vector<double> dinp(N * C, 0.0), dweight(C, 0.0);
  rmsnorm_backward<double>(dinp.data(), dweight.data(), R.data(), inp.data(), weight.data(),
                           rstd.data(), N, C);
  EXPECT_LT(test::relative_error(dinp, test::numeric_gradient(inp.data(), inp.size(), loss)),
            test::kGradTolerance);
  EXPECT_LT(test::relative_error(dweight, test::numeric_gradient(weight.data(), C, loss)),
            test::kGradTolerance);
}

TEST(RmsNorm, GivesEachRowUnitRootMeanSquare) {
  const int N = 3, C = 8;
  auto inp = test::random_vector(N * C, 24, 3.0);
  std::vector<double> weight(C, 1.0), out(N * C), rstd(N);
  rmsnorm_forward<double>(out.data(), rstd.data(), inp.data(), weight.data(), N, C, 1e-5);
  for (int n = 0; n < N; ++n) {
    double ss = 0;
    for (int c = 0; c < C; ++c) ss += out[n * C + c] * out[n * C + c] / C;
    EXPECT_NEAR(std::sqrt(ss), 1.0, 1e-5);  // eps = 1e-5 inside the root
  }
}

// A deferred weight gradient (summed into zeros, added later) equals the undeferred one bit for
// bit, and the input gradient alone equals the one computed with it.
TEST(RmsNorm, SplitBackwardIsBitForBit) {
  const int N = 200, C = 16;  // several row blocks of the column sums
  auto inp = test::random_vector(N * C, 25);
  auto weight = test::random_vector(C, 26);
  auto dout = test::random_vector(N * C, 27);
  std::vector<double> out(N * C), rstd(N);
  rmsnorm_forward<double>(out.data(), rstd.data(), inp.data(), weight.data(), N, C, 1e-5);
  std::vector<double> dinp(N * C, 0.5), dweight(C, 0.25);
  rmsnorm_backward<double>(dinp.data(), dweight.data(), dout.data(), inp.data(), weight.data(),
                           rstd.data(), N, C);
  std::vector<double> dinp2(N * C, 0.5), sums(C, 0.0), dweight2(C, 0.25);
  rmsnorm_backward<double>(dinp2.data(), nullptr, dout.data(), inp.data(), weight.data(),
                           rstd.data(), N, C);
  rmsnorm_backward<double>(nullptr, sums.data(), dout.data(), inp.data(), weight.data(),
                           rstd.data(), N, C);
  for (int c = 0; c < C; ++c) dweight2[c] += sums[c];
  EXPECT_EQ(dinp, dinp2);
  EXPECT_EQ(dweight, dweight2);
}

}  // namespace
}  // namespace parti::kernels
