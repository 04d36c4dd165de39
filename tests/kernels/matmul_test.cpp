// matmul backward against finite differences, both weight layouts, awkward sizes.
// Loss: sum(out * R) for a fixed random R, so dout = R.
#include "parti/kernels/matmul.h"

#include <gtest/gtest.h>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

void check_layout(WeightLayout layout, bool with_bias) {
  const int N = 7, C = 5, OC = 9;
  auto inp = test::random_vector(N * C, 1);
  auto weight = test::random_vector(C * OC, 2);
  auto bias = test::random_vector(OC, 3);
  auto R = test::random_vector(N * OC, 4);
  std::vector<double> out(N * OC);
  auto loss = [&] {
    matmul_forward<double>(out.data(), inp.data(), weight.data(), with_bias ? bias.data() : nullptr,
                           N, C, OC, layout);
    return test::dot(out, R);
  };
  std::vector<double> dinp(N * C, 0.0), dweight(C * OC, 0.0), dbias(OC, 0.0);
  matmul_backward<double>(dinp.data(), dweight.data(), with_bias ? dbias.data() : nullptr, R.data(),
                          inp.data(), weight.data(), N, C, OC, layout);
  EXPECT_LT(test::relative_error(dinp, test::numeric_gradient(inp.data(), inp.size(), loss)),
            test::kGradTolerance);
  EXPECT_LT(
      test::relative_error(dweight, test::numeric_gradient(weight.data(), weight.size(), loss)),
      test::kGradTolerance);
  if (with_bias) {
    EXPECT_LT(test::relative_error(dbias, test::numeric_gradient(bias.data(), bias.size(), loss)),
              test::kGradTolerance);
  }
}

TEST(Matmul, InOutLayoutWithBias) { check_layout(WeightLayout::in_out, true); }
TEST(Matmul, OutInLayoutNoBias) { check_layout(WeightLayout::out_in, false); }

TEST(Matmul, BackwardAccumulates) {
  const int N = 3, C = 2, OC = 4;
  auto inp = test::random_vector(N * C, 5);
  auto weight = test::random_vector(C * OC, 6);
  auto dout = test::random_vector(N * OC, 7);
  std::vector<double> once(C * OC, 0.0), twice(C * OC, 0.0), dinp(N * C, 0.0);
  matmul_backward<double>(dinp.data(), once.data(), nullptr, dout.data(), inp.data(), weight.data(),
                          N, C, OC, WeightLayout::in_out);
  for (int r = 0; r < 2; ++r) {
    matmul_backward<double>(nullptr, twice.data(), nullptr, dout.data(), inp.data(), weight.data(),
                            N, C, OC, WeightLayout::in_out);
  }
  for (size_t i = 0; i < once.size(); ++i) {
    EXPECT_DOUBLE_EQ(twice[i], 2 * once[i]);
  }
}

}  // namespace
}  // namespace parti::kernels
