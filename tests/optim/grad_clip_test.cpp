#include "parti/optim/grad_clip.h"

#include <gtest/gtest.h>

#include <cmath>

namespace parti::optim {
namespace {

TEST(GradClip, ScalesToTheLimitOverAllParameters) {
  model::ParamTable table;
  table.add("a", {2}, model::Init::zeros, false);
  table.add("b", {1}, model::Init::zeros, false);
  std::vector<float> g(table.total(), 0.0f);
  g[table.spec(0).offset] = 3.0f;
  g[table.spec(0).offset + 1] = 0.0f;
  g[table.spec(1).offset] = 4.0f;
  EXPECT_DOUBLE_EQ(grad_norm<float>(table, g.data()), 5.0);
  EXPECT_DOUBLE_EQ(clip_grad_norm<float>(table, g.data(), 10.0), 5.0);  // under the limit
  EXPECT_EQ(g[table.spec(1).offset], 4.0f);
  EXPECT_DOUBLE_EQ(clip_grad_norm<float>(table, g.data(), 1.0), 5.0);
  EXPECT_NEAR(grad_norm<float>(table, g.data()), 1.0, 1e-6);
  EXPECT_NEAR(g[table.spec(0).offset], 0.6f, 1e-6);
}

}  // namespace
}  // namespace parti::optim
