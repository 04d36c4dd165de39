#include "parti/core/rng.h"

#include <gtest/gtest.h>

#include <cmath>

namespace parti::core {
namespace {

TEST(Rng, IsAPureFunctionOfItsArguments) {
  EXPECT_EQ(random_bits(1, 2, 3), random_bits(1, 2, 3));
  EXPECT_NE(random_bits(1, 2, 3), random_bits(1, 2, 4));
  EXPECT_NE(random_bits(1, 2, 3), random_bits(2, 2, 3));
  EXPECT_NE(random_bits(1, name_stream("a"), 0), random_bits(1, name_stream("b"), 0));
  EXPECT_EQ(name_stream(""), 0xcbf29ce484222325ULL);  // FNV-1a offset basis
}

TEST(Rng, NormalHasUnitMomentsAndUniformIsInRange) {
  const int n = 200000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = random_normal(7, 9, static_cast<uint64_t>(i));
    sum += x;
    sq += x * x;
    const double u = random_uniform(7, 9, static_cast<uint64_t>(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.01);
}

}  // namespace
}  // namespace parti::core
