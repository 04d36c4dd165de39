#include "parti/kernels/attention.h"

#include <gtest/gtest.h>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

TEST(Attention, BackwardMatchesFiniteDifferences) {
  const int B = 2, T = 5, C = 12, NH = 3;
  auto qkv = test::random_vector(B * T * 3 * C, 31);
  auto R = test::random_vector(B * T * C, 32);
  std::vector<double> out(B * T * C), att(B * NH * T * T);
  auto loss = [&] {
    attention_forward<double>(out.data(), att.data(), qkv.data(), B, T, C, NH);
    return test::dot(out, R);
  };
  loss();
  std::vector<double> dqkv(qkv.size(), 0.0);
  attention_backward<double>(dqkv.data(), R.data(), qkv.data(), att.data(), B, T, C, NH);
  EXPECT_LT(test::relative_error(dqkv, test::numeric_gradient(qkv.data(), qkv.size(), loss)),
            test::kGradTolerance);
}

TEST(Attention, IsCausal) {
  // Changing the last token's q, k, v must not change any earlier output.
  const int B = 1, T = 4, C = 6, NH = 2;
  auto qkv = test::random_vector(B * T * 3 * C, 33);
  std::vector<double> out1(B * T * C), out2(B * T * C), att(B * NH * T * T);
  attention_forward<double>(out1.data(), att.data(), qkv.data(), B, T, C, NH);
  for (int c = 0; c < 3 * C; ++c) {
    qkv[(T - 1) * 3 * C + c] += 1.0;
  }
  attention_forward<double>(out2.data(), att.data(), qkv.data(), B, T, C, NH);
  for (int i = 0; i < (T - 1) * C; ++i) {
    EXPECT_EQ(out1[i], out2[i]);
  }
}

}  // namespace
}  // namespace parti::kernels
