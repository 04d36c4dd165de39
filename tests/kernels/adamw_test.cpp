// AdamW against the update written out by hand in double, step by step, as torch.optim.AdamW
// computes it (the PyTorch oracle test checks the same against PyTorch itself).
#include "parti/kernels/adamw.h"

#include <gtest/gtest.h>

#include <cmath>

namespace parti::kernels {
namespace {

TEST(AdamW, MatchesTheFormulaOverSteps) {
  const double lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  double p[3] = {0.5, -1.0, 2.0}, m[3] = {}, v[3] = {};
  double rp[3] = {0.5, -1.0, 2.0}, rm[3] = {}, rv[3] = {};
  for (int step = 1; step <= 4; ++step) {
    const double g[3] = {0.1 * step, -0.3, 1e-4};
    adamw_update<double>(p, m, v, g, 3,
                         {static_cast<float>(lr), static_cast<float>(b1), static_cast<float>(b2),
                          static_cast<float>(eps), static_cast<float>(wd), step});
    for (int i = 0; i < 3; ++i) {
      // The rates as the float kernel sees them, then computed in double.
      const auto as_float = [](double x) { return static_cast<double>(static_cast<float>(x)); };
      const double flr = as_float(lr), fb1 = as_float(b1), fb2 = as_float(b2), fwd = as_float(wd);
      rp[i] *= 1 - flr * fwd;
      rm[i] = fb1 * rm[i] + (1 - fb1) * g[i];
      rv[i] = fb2 * rv[i] + (1 - fb2) * g[i] * g[i];
      const double bc1 = 1 - std::pow(fb1, step), bc2 = 1 - std::pow(fb2, step);
      rp[i] -= (flr / bc1) * rm[i] / (std::sqrt(rv[i]) / std::sqrt(bc2) + as_float(eps));
      EXPECT_NEAR(p[i], rp[i], 1e-12) << "step " << step << " element " << i;
    }
  }
}

TEST(AdamW, GradScaleEqualsScalingTheGradientsFirst) {
  // Clipping's factor, applied inside the update, gives the bits of scaling the buffer first.
  float p1[5] = {0.5f, -1.0f, 2.0f, 0.25f, -3.0f}, m1[5] = {}, v1[5] = {};
  float p2[5] = {0.5f, -1.0f, 2.0f, 0.25f, -3.0f}, m2[5] = {}, v2[5] = {};
  for (int step = 1; step <= 3; ++step) {
    const float g[5] = {0.7f * static_cast<float>(step), -0.3f, 1e-4f, 12.0f, -5.5f};
    const float s = 0.123456789f;
    float scaled[5];
    for (int i = 0; i < 5; ++i) {
      scaled[i] = g[i] * s;
    }
    adamw_update<float>(p1, m1, v1, g, 5, {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step, s});
    adamw_update<float>(p2, m2, v2, scaled, 5, {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step});
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(p1[i], p2[i]);
      EXPECT_EQ(m1[i], m2[i]);
      EXPECT_EQ(v1[i], v2[i]);
    }
  }
}

}  // namespace
}  // namespace parti::kernels
