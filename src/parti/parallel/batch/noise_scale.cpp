#include "parti/parallel/batch/noise_scale.h"

#include <cmath>

#include "parti/core/check.h"
#include "parti/core/json.h"

namespace parti::parallel::batch {

NoiseTerms noise_terms(const NormPair& m) {
  PARTI_ASSERT(0 < m.small && m.small < m.big, "noise scale from batches of ", m.small, " and ",
               m.big);
  const double b = m.small, B = m.big;
  return {(B * m.big_sq - b * m.small_sq) / (B - b), (m.small_sq - m.big_sq) / (1.0 / b - 1.0 / B)};
}

void NoiseScale::add(const NormPair& m) {
  const NoiseTerms t = noise_terms(m);
  grad_sq_ = decay_ * grad_sq_ + (1.0 - decay_) * t.grad_sq;
  trace_ = decay_ * trace_ + (1.0 - decay_) * t.trace;
  ++steps_;
}

double NoiseScale::grad_sq() const {
  return steps_ == 0 ? 0.0 : grad_sq_ / (1.0 - std::pow(decay_, static_cast<double>(steps_)));
}

double NoiseScale::trace() const {
  return steps_ == 0 ? 0.0 : trace_ / (1.0 - std::pow(decay_, static_cast<double>(steps_)));
}

double NoiseScale::estimate() const {
  const double g = grad_sq();
  return g > 0.0 ? trace() / g : 0.0;
}

nlohmann::ordered_json NoiseScale::to_json() const {
  return {{"decay", decay_}, {"grad_sq", grad_sq_}, {"trace", trace_}, {"steps", steps_}};
}

void NoiseScale::from_json(const nlohmann::json& j) {
  try {
    decay_ = j.at("decay").get<double>();
    grad_sq_ = j.at("grad_sq").get<double>();
    trace_ = j.at("trace").get<double>();
    steps_ = json_int<long>(j.at("steps"));
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(
        str_cat("the noise scale's record (\"noise_scale\" in state.json): ", e.what()));
  }
  PARTI_CHECK(decay_ >= 0.0 && decay_ < 1.0 && steps_ >= 0 && std::isfinite(grad_sq_) &&
                  std::isfinite(trace_),
              CheckpointError,
              "the noise scale's record (\"noise_scale\" in state.json) is "
              "inconsistent: ",
              to_json().dump());
}

}  // namespace parti::parallel::batch
