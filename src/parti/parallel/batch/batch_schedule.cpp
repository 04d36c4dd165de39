#include "parti/parallel/batch/batch_schedule.h"

#include <algorithm>

#include "parti/core/check.h"
#include "parti/core/json.h"

namespace parti::parallel::batch {

std::vector<int> BatchConfig::sizes() const {
  if (!ramps() || ramp_increment <= 0 || ramp_start >= global_batch) {
    return {global_batch};
  }
  std::vector<int> out;
  for (int g = ramp_start; g < global_batch; g += ramp_increment) {
    out.push_back(g);
  }
  out.push_back(global_batch);
  return out;
}

std::string BatchConfig::flag() const {
  return ramps() ? str_cat("--batch-ramp ", ramp_start, ",", ramp_increment, ",", ramp_samples)
                 : str_cat("--global-batch ", global_batch);
}

namespace {

// The ramp's own rules, before any layout.
void check_ramp(const BatchConfig& b, std::vector<std::string>& errors) {
  if (!b.ramps()) {
    if (b.ramp_start < 0 || b.ramp_increment != 0 || b.ramp_samples != 0) {
      errors.push_back(str_cat(b.flag(), ": START must be a positive number of sequences"));
    }
    return;
  }
  if (b.ramp_increment <= 0 || b.ramp_samples <= 0) {
    errors.push_back(str_cat(b.flag(), ": INCREMENT and SAMPLES must be positive"));
  } else if (b.ramp_start >= b.global_batch) {
    errors.push_back(str_cat(b.flag(), ": START must be below --global-batch ", b.global_batch,
                             ", the batch the ramp ends at"));
  } else if ((b.global_batch - b.ramp_start) % b.ramp_increment != 0) {
    errors.push_back(str_cat(b.flag(), ": --global-batch ", b.global_batch, " - START ",
                             b.ramp_start, " is not a multiple of INCREMENT ", b.ramp_increment));
  }
}

}  // namespace

std::vector<std::string> validate(const BatchConfig& b, const Layout& l,
                                  const model::ModelConfig& m) {
  std::vector<std::string> errors;
  check_ramp(b, errors);
  if (!errors.empty()) {
    return errors;
  }
  const int unit = l.micro_batch * l.dp;
  for (const int g : b.sizes()) {
    if (b.ramps() && unit > 0 && g % unit != 0) {
      errors.push_back(str_cat(b.flag(), ": its batch of ", g, " sequences is not a multiple of ",
                               "--micro-batch ", l.micro_batch, " x --dp ", l.dp, " = ", unit));
      continue;
    }
    for (std::string& e : parallel::validate(l, m, g)) {
      if (std::find(errors.begin(), errors.end(), e) == errors.end()) {
        errors.push_back(std::move(e));
      }
    }
  }
  return errors;
}

nlohmann::ordered_json BatchState::to_json() const {
  return {{"samples", samples}, {"tokens", tokens}};
}

BatchState BatchState::from_state(const nlohmann::json& state, int64_t step, int global_batch,
                                  int seq_len) {
  if (!state.contains("batch")) {
    return {step * global_batch, step * global_batch * seq_len};
  }
  const nlohmann::json& b = state.at("batch");
  BatchState s;
  try {
    s = {json_int<int64_t>(b.at("samples")), json_int<int64_t>(b.at("tokens"))};
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(
        str_cat("the batch schedule's record (\"batch\" in state.json): ", e.what()));
  }
  PARTI_CHECK(s.samples >= 0 && s.tokens == s.samples * seq_len, CheckpointError,
              "the batch schedule's record (\"batch\" in state.json) is inconsistent: ", b.dump(),
              " for sequences of ", seq_len, " tokens");
  return s;
}

int BatchSchedule::next() const {
  const BatchConfig& c = config_;
  if (!c.ramps() || state_.samples >= c.ramp_samples) {
    return c.global_batch;
  }
  const int64_t increments = (c.global_batch - c.ramp_start) / c.ramp_increment;
  const int64_t done = state_.samples * increments / c.ramp_samples;
  return c.ramp_start + static_cast<int>(done) * c.ramp_increment;
}

void BatchSchedule::advance(int batch) {
  state_.samples += batch;
  state_.tokens += static_cast<int64_t>(batch) * seq_len_;
}

}  // namespace parti::parallel::batch
