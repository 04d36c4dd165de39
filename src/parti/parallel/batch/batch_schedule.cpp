#include "parti/parallel/batch/batch_schedule.h"

#include <algorithm>
#include <cmath>

#include "parti/core/check.h"
#include "parti/core/json.h"

namespace parti::parallel::batch {

std::vector<int> BatchConfig::sizes() const {
  if (adaptive) {
    std::vector<int> out;
    for (int g = min_batch; quantum > 0 && g <= max_batch; g += quantum) {
      out.push_back(g);
    }
    return out;
  }
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
  if (adaptive) {
    return str_cat("--adaptive-batch (--min-global-batch ", min_batch, " --max-global-batch ",
                   max_batch, " --batch-quantum ", quantum, ")");
  }
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

// The adaptive batch's own rules, and what its measurement needs of the layout and model.
void check_adaptive(const BatchConfig& b, const Layout& l, const model::ModelConfig& m,
                    std::vector<std::string>& errors) {
  if (b.ramps()) {
    errors.push_back("--adaptive-batch and --batch-ramp: choose one");
  }
  if (b.quantum <= 0 || b.min_batch <= 0 || b.min_batch > b.max_batch) {
    errors.push_back(str_cat(b.flag(),
                             ": needs 0 < --min-global-batch <= --max-global-batch and "
                             "a positive --batch-quantum"));
    return;
  }
  if (b.min_batch % b.quantum != 0 || b.max_batch % b.quantum != 0) {
    errors.push_back(str_cat(b.flag(),
                             ": the minimum and maximum must be multiples of the "
                             "quantum"));
  }
  const int unit = l.micro_batch * l.dp;
  if (unit > 0 && b.quantum % unit != 0) {
    errors.push_back(str_cat(b.flag(), ": --batch-quantum ", b.quantum,
                             " is not a multiple of --micro-batch ", l.micro_batch, " x --dp ",
                             l.dp, " = ", unit, " (every layout must take the same sizes)"));
  }
  if (b.min_batch < 2 * l.micro_batch) {
    errors.push_back(str_cat(b.flag(),
                             ": the noise scale compares each micro-batch's gradient "
                             "with the batch's, so --min-global-batch must hold two "
                             "micro-batches (2 x --micro-batch ",
                             l.micro_batch, ")"));
  }
  if (l.tp_mode == "2.5d") {
    errors.push_back(
        "--adaptive-batch with --tp-mode 2.5d: its depth splits a micro-batch, whose "
        "gradient the noise scale measures; use --tp-mode 2d");
  }
  if (l.pp > 1 && (m.family == "gpt2" || m.tie_embeddings)) {
    errors.push_back(
        "--adaptive-batch with --pp and a tied embedding: the first and last stages "
        "each hold part of a micro-batch's embedding gradient, which the noise "
        "scale's measurement does not join yet; use --pp 1 or an untied model");
  }
}

}  // namespace

std::vector<std::string> validate(const BatchConfig& b, const Layout& l,
                                  const model::ModelConfig& m) {
  std::vector<std::string> errors;
  check_ramp(b, errors);
  if (b.adaptive) {
    check_adaptive(b, l, m, errors);
  }
  if (!errors.empty()) {
    return errors;
  }
  const int unit = l.micro_batch * l.dp;
  for (const int g : b.sizes()) {
    if ((b.ramps() || b.adaptive) && unit > 0 && g % unit != 0) {
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
  nlohmann::ordered_json j = {{"samples", samples}, {"tokens", tokens}};
  if (batch > 0) {
    j["batch"] = batch;
    j["noise_scale"] = noise.to_json();
    j["loss_average"] = loss_average;
    j["hold"] = hold;
  }
  return j;
}

BatchState BatchState::from_state(const nlohmann::json& state, int64_t step, int global_batch,
                                  int seq_len) {
  if (!state.contains("batch")) {
    BatchState fixed;
    fixed.samples = step * global_batch;
    fixed.tokens = fixed.samples * seq_len;
    return fixed;
  }
  const nlohmann::json& b = state.at("batch");
  BatchState s;
  try {
    s.samples = json_int<int64_t>(b.at("samples"));
    s.tokens = json_int<int64_t>(b.at("tokens"));
    if (b.contains("batch")) {
      s.batch = json_int<int>(b.at("batch"));
      s.noise.from_json(b.at("noise_scale"));
      s.loss_average = b.at("loss_average").get<double>();
      s.hold = json_int<int>(b.at("hold"));
    }
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(
        str_cat("the batch schedule's record (\"batch\" in state.json): ", e.what()));
  }
  PARTI_CHECK(s.samples >= 0 && s.tokens == s.samples * seq_len && s.batch >= 0 && s.hold >= 0 &&
                  std::isfinite(s.loss_average),
              CheckpointError,
              "the batch schedule's record (\"batch\" in state.json) is inconsistent: ", b.dump(),
              " for sequences of ", seq_len, " tokens");
  return s;
}

BatchSchedule::BatchSchedule(BatchConfig config, int seq_len) : config_(config), seq_len_(seq_len) {
  state_.batch = config_.adaptive ? config_.min_batch : 0;
}

void BatchSchedule::restore(const BatchState& state) {
  state_ = state;
  if (config_.adaptive && state_.batch == 0) {
    state_.batch = config_.min_batch;
  }
}

int BatchSchedule::next() const {
  const BatchConfig& c = config_;
  if (c.adaptive) {
    return state_.batch;
  }
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

void BatchSchedule::observe(const NormPair& m, double loss) {
  constexpr double kSpike = 1.1;  // a loss this far above its moving average is a spike
  constexpr double kLossDecay = 0.9;
  constexpr int kHold = 10;  // steps the batch may not grow after one
  const BatchConfig& c = config_;
  BatchState& s = state_;
  s.noise.add(m);
  const int q = c.quantum;
  if (s.loss_average > 0.0 && loss > kSpike * s.loss_average) {
    s.batch = std::max(c.min_batch, s.batch / 2 / q * q);
    s.hold = kHold;
  } else {
    const double noise = s.noise.estimate();
    const double quanta = std::max(1.0, std::round(noise / q));
    int target = quanta * q >= c.max_batch ? c.max_batch : static_cast<int>(quanta) * q;
    target = std::clamp(std::min(target, 2 * s.batch), c.min_batch, c.max_batch);
    if (s.hold > 0) {
      s.hold -= 1;
      target = std::min(target, s.batch);
    }
    s.batch = target;
  }
  s.loss_average =
      s.loss_average > 0.0 ? kLossDecay * s.loss_average + (1 - kLossDecay) * loss : loss;
}

}  // namespace parti::parallel::batch
