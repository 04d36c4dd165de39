#include "parti/train/guard.h"

#include <cmath>

#include "parti/core/check.h"
#include "parti/core/json.h"

namespace parti::train {

std::string StepGuard::judge(double loss, double norm) {
  std::string reason;
  if (!std::isfinite(loss)) {
    reason = str_cat("non-finite loss ", loss);
  } else if (!std::isfinite(norm)) {
    reason = str_cat("non-finite gradient norm ", norm);
  } else if (cfg_.skip_spikes > 0 && recent_.size() >= kMinHistory) {
    double mean = 0.0;
    for (double l : recent_) mean += l;
    mean /= static_cast<double>(recent_.size());
    double var = 0.0;
    for (double l : recent_) var += (l - mean) * (l - mean);
    const double sd = std::sqrt(var / static_cast<double>(recent_.size()));
    if (loss > mean + cfg_.skip_spikes * sd) {
      reason = str_cat("loss spike ", loss, " > mean ", mean, " + ", cfg_.skip_spikes, " x sd ", sd,
                       " of the last ", recent_.size(), " steps");
    }
  }
  if (!reason.empty()) {
    ++in_row_;
    ++total_;
    return reason;
  }
  in_row_ = 0;
  recent_.push_back(loss);
  if (recent_.size() > kWindow) {
    recent_.pop_front();
  }
  return reason;
}

nlohmann::json StepGuard::to_json() const {
  return {{"recent_losses", recent_}, {"skipped_in_row", in_row_}, {"skipped_total", total_}};
}

void StepGuard::from_json(const nlohmann::json& j) {
  try {
    recent_.clear();
    for (const auto& l : j.at("recent_losses")) {
      recent_.push_back(l.get<double>());
    }
    in_row_ = json_int<int>(j.at("skipped_in_row"));
    total_ = json_int<int64_t>(j.at("skipped_total"));
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(str_cat("the step guard's record (\"guard\" in state.json): ", e.what()));
  }
  PARTI_CHECK(
      recent_.size() <= kWindow && in_row_ >= 0 && total_ >= in_row_, CheckpointError,
      "the step guard's record (\"guard\" in state.json) is inconsistent: ", to_json().dump());
}

}  // namespace parti::train
