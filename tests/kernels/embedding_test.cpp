#include "parti/kernels/embedding.h"

#include <gtest/gtest.h>

#include "support/gradcheck.h"

namespace parti::kernels {
namespace {

TEST(Embedding, BackwardMatchesFiniteDifferences) {
  const int B = 2, T = 3, C = 37, Vp = 5;  // C spans two channel blocks; ids repeat
  const int32_t tokens[B * T] = {1, 4, 1, 0, 1, 3};
  auto wte = test::random_vector(Vp * C, 51);
  auto wpe = test::random_vector(T * C, 52);
  auto R = test::random_vector(B * T * C, 53);
  std::vector<double> out(B * T * C);
  auto loss = [&] {
    embedding_forward<double>(out.data(), tokens, wte.data(), wpe.data(), B, T, C);
    return test::dot(out, R);
  };
  std::vector<double> dwte(wte.size(), 0.0), dwpe(wpe.size(), 0.0);
  embedding_backward<double>(dwte.data(), dwpe.data(), R.data(), tokens, B, T, C);
  EXPECT_LT(test::relative_error(dwte, test::numeric_gradient(wte.data(), wte.size(), loss)),
            test::kGradTolerance);
  EXPECT_LT(test::relative_error(dwpe, test::numeric_gradient(wpe.data(), wpe.size(), loss)),
            test::kGradTolerance);
}

}  // namespace
}  // namespace parti::kernels
