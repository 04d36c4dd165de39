// The gradient noise scale (McCandlish et al. 2018, "An Empirical Model of Large-Batch
// Training", appendix A), the quantity an adaptive batch follows (issue #22). With G the true
// gradient and Sigma the per-sample gradients' covariance, a batch of b samples has
// E|G_b|^2 = |G|^2 + tr(Sigma) / b, so squared norms measured at two sizes b < B give unbiased
// estimates of both:
//   |G|^2     ~ (B |G_B|^2 - b |G_b|^2) / (B - b)
//   tr(Sigma) ~ (|G_b|^2 - |G_B|^2) / (1/b - 1/B)
// and B_noise = tr(Sigma) / |G|^2, the batch beyond which a larger one buys less than it costs.
// One step's estimates are noisy (|G|^2's even negative); the paper smooths each with an
// exponential moving average and divides the averages, as NoiseScale does (bias-corrected, as
// Adam's moments are, so the first steps are not pulled towards zero).
//
// A layout-independent measurement (the same numbers at any dp x cp x tp x pp) takes |G_b|^2
// over fixed groups of sequences, not over whatever one rank holds.
#pragma once

#include <nlohmann/json.hpp>

namespace parti::parallel::batch {

// One step's measurement: the mean squared norm of the gradients of groups of `small`
// sequences, and the squared norm of the whole batch's (`big` sequences), each the gradient of
// the mean loss over its own sequences.
struct NormPair {
  double small_sq;
  int small;
  double big_sq;
  int big;
};

// This step's unbiased |G|^2 and tr(Sigma).
struct NoiseTerms {
  double grad_sq;
  double trace;
};
NoiseTerms noise_terms(const NormPair& m);

class NoiseScale {
 public:
  // `decay`: each average keeps this much of the last (0.95: about the last 20 steps).
  explicit NoiseScale(double decay = 0.95) : decay_(decay) {}
  void add(const NormPair& m);
  bool empty() const { return steps_ == 0; }
  // The smoothed |G|^2 and tr(Sigma), and their ratio B_noise in sequences (0 while the
  // smoothed |G|^2 is not positive).
  double grad_sq() const;
  double trace() const;
  double estimate() const;
  // Its state for state.json (a resume continues the same averages).
  nlohmann::ordered_json to_json() const;
  void from_json(const nlohmann::json& j);

 private:
  double decay_;
  double grad_sq_ = 0.0, trace_ = 0.0;  // uncorrected averages
  long steps_ = 0;
};

}  // namespace parti::parallel::batch
