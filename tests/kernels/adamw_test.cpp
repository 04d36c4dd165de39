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
      const double flr = static_cast<float>(lr), fb1 = static_cast<float>(b1),
                   fb2 = static_cast<float>(b2), fwd = static_cast<float>(wd);
      rp[i] *= 1 - flr * fwd;
      rm[i] = fb1 * rm[i] + (1 - fb1) * g[i];
      rv[i] = fb2 * rv[i] + (1 - fb2) * g[i] * g[i];
      const double bc1 = 1 - std::pow(fb1, step), bc2 = 1 - std::pow(fb2, step);
      rp[i] -= (flr / bc1) * rm[i] /
               (std::sqrt(rv[i]) / std::sqrt(bc2) + double{static_cast<float>(eps)});
      EXPECT_NEAR(p[i], rp[i], 1e-12) << "step " << step << " element " << i;
    }
  }
}

}  // namespace
}  // namespace parti::kernels
