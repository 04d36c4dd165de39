#include "parti/kernels/elementwise.h"

#include <gtest/gtest.h>

#include <vector>

namespace parti::kernels {
namespace {

// Sizes around the threads' split (odd, one, zero) give every element exactly its own sum.
TEST(Elementwise, AddAndAddIntoAreExactPerElement) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1001}}) {
    std::vector<float> a(n), b(n), out(n, -1.0f), acc(n);
    for (size_t i = 0; i < n; ++i) {
      a[i] = 0.5f * static_cast<float>(i);
      b[i] = 1.0f / static_cast<float>(i + 1);
      acc[i] = static_cast<float>(i % 7);
    }
    add<float>(out.data(), a.data(), b.data(), n);
    add_into<float>(acc.data(), b.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[i], a[i] + b[i]) << i;
      ASSERT_EQ(acc[i], static_cast<float>(i % 7) + b[i]) << i;
    }
  }
}

TEST(Elementwise, AddIntoDouble) {
  std::vector<double> out = {1.0, 2.0, 3.0};
  const std::vector<double> in = {0.25, -2.0, 1e-17};
  add_into<double>(out.data(), in.data(), out.size());
  EXPECT_EQ(out, (std::vector<double>{1.25, 0.0, 3.0 + 1e-17}));
}

}  // namespace
}  // namespace parti::kernels
