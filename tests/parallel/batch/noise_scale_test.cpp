// Issue #22, acceptance 1: the noise-scale estimator against a direct computation on a problem
// whose gradient covariance is known: least squares on x ~ N(0, I_d), y = w*.x + sigma n. At
// parameters w (delta = w - w*) a sample's gradient of r^2 / 2, r = delta.x - sigma n, is r x:
//   G = E[r x] = delta,   E[g g^T] = (|delta|^2 + sigma^2) I + 2 delta delta^T   (Isserlis)
//   tr(Sigma) = d (|delta|^2 + sigma^2) + |delta|^2,   B_noise = tr(Sigma) / |delta|^2.
#include "parti/parallel/batch/noise_scale.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <vector>

#include "parti/core/rng.h"

namespace parti::parallel::batch {
namespace {

constexpr int kDim = 20;
constexpr double kSigma2 = 0.5;

struct Problem {
  std::vector<double> delta = std::vector<double>(kDim);
  Problem() {
    for (int i = 0; i < kDim; ++i)
      delta[static_cast<size_t>(i)] = (i % 2 == 0 ? 1.0 : -1.0) / std::sqrt(kDim);
  }
  double grad_sq() const { return 1.0; }  // |delta|^2
  double trace() const { return kDim * (1.0 + kSigma2) + 1.0; }
  // Sample i's gradient, added into `sum`.
  void add_gradient(uint64_t i, std::vector<double>& sum) const {
    std::vector<double> x(kDim);
    double r = -std::sqrt(kSigma2) * core::random_normal(11, 2, i);
    for (int k = 0; k < kDim; ++k) {
      x[static_cast<size_t>(k)] = core::random_normal(11, 1, i * kDim + static_cast<uint64_t>(k));
      r += delta[static_cast<size_t>(k)] * x[static_cast<size_t>(k)];
    }
    for (int k = 0; k < kDim; ++k) sum[static_cast<size_t>(k)] += r * x[static_cast<size_t>(k)];
  }
};

double squared_mean(const std::vector<double>& sum, int n) {
  double s = 0;
  for (double v : sum) s += (v / n) * (v / n);
  return s;
}

// One step: a batch of `big` samples in groups of `small`.
NormPair measure(const Problem& p, uint64_t first, int small, int big) {
  std::vector<double> whole(kDim, 0.0);
  double groups = 0;
  for (int g = 0; g < big / small; ++g) {
    std::vector<double> part(kDim, 0.0);
    for (int i = 0; i < small; ++i)
      p.add_gradient(first + static_cast<uint64_t>(g * small + i), part);
    groups += squared_mean(part, small);
    for (int k = 0; k < kDim; ++k) whole[static_cast<size_t>(k)] += part[static_cast<size_t>(k)];
  }
  return {groups / (big / small), small, squared_mean(whole, big), big};
}

TEST(NoiseScale, EstimatesTheKnownNoiseScaleWithinTenPercent) {
  const Problem p;
  const double truth = p.trace() / p.grad_sq();  // 31 samples
  for (const auto& [small, big] : {std::pair{32, 256}, std::pair{16, 384}, std::pair{64, 512}}) {
    NoiseScale smoothed(0.98);
    uint64_t at = 0;
    for (int step = 0; step < 300; ++step) {
      smoothed.add(measure(p, at, small, big));
      at += static_cast<uint64_t>(big);
    }
    std::cout << "groups of " << small << " in " << big << ": B_noise " << smoothed.estimate()
              << " (true " << truth << "), |G|^2 " << smoothed.grad_sq() << ", tr "
              << smoothed.trace() << "\n";
    EXPECT_NEAR(smoothed.grad_sq(), p.grad_sq(), 0.1 * p.grad_sq()) << small << "/" << big;
    EXPECT_NEAR(smoothed.trace(), p.trace(), 0.1 * p.trace()) << small << "/" << big;
    EXPECT_NEAR(smoothed.estimate(), truth, 0.1 * truth) << small << "/" << big;
  }
}

TEST(NoiseScale, OneStepsTermsAreExactForExactNorms) {
  // E|G_b|^2 = |G|^2 + tr / b exactly: the two-size formulas invert it.
  const double g2 = 2.5, tr = 40.0;
  const NoiseTerms t = noise_terms({g2 + tr / 8, 8, g2 + tr / 64, 64});
  EXPECT_NEAR(t.grad_sq, g2, 1e-12);
  EXPECT_NEAR(t.trace, tr, 1e-9);
}

TEST(NoiseScale, BiasCorrectedFromTheFirstStepAndRoundTrips) {
  NoiseScale s(0.9);
  EXPECT_EQ(s.estimate(), 0.0);
  s.add({2.0 + 40.0 / 8, 8, 2.0 + 40.0 / 64, 64});
  EXPECT_NEAR(s.estimate(), 20.0, 1e-9);  // not pulled towards zero by the empty average
  NoiseScale back;
  back.from_json(s.to_json());
  EXPECT_EQ(back.estimate(), s.estimate());
  back.add({1.0, 8, 0.5, 64});
  s.add({1.0, 8, 0.5, 64});
  EXPECT_EQ(back.estimate(), s.estimate());
}

}  // namespace
}  // namespace parti::parallel::batch
