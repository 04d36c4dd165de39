// The step guard (issue #18): whether an optimizer step's update is applied. A step whose global
// loss or gradient norm is not finite is skipped (the parameters and moments stay as they were;
// the step still consumes its batch and its place in the learning-rate schedule, as Megatron's
// skipped iterations do). With --skip-spikes K, a step whose loss exceeds the mean of the last
// kWindow applied steps' losses by more than K of their standard deviations is skipped too (once
// kMinHistory steps have been applied). After --max-skipped skips in a row the run stops.
// Every rank judges the same all-reduced loss and norm with the same history, so every rank
// reaches the same verdict without a collective of its own. The history is part of the
// checkpoint: a resumed run judges exactly as the uninterrupted one.
#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>

namespace parti::train {

struct GuardConfig {
  int max_skipped = 5;       // skips in a row that stop the run
  double skip_spikes = 0.0;  // K standard deviations; 0: off
};

class StepGuard {
 public:
  static constexpr size_t kWindow = 100;
  static constexpr size_t kMinHistory = 20;

  explicit StepGuard(GuardConfig cfg) : cfg_(cfg) {}
  // The verdict on a step with this global mean loss and gradient norm: "" to apply it, else
  // why it is skipped. Records the step.
  std::string judge(double loss, double norm);
  int skipped_in_row() const { return in_row_; }
  int64_t skipped_total() const { return total_; }
  bool exhausted() const { return in_row_ >= cfg_.max_skipped; }
  nlohmann::json to_json() const;
  void from_json(const nlohmann::json& j);  // throws CheckpointError on a malformed record

 private:
  GuardConfig cfg_;
  std::deque<double> recent_;  // the losses of the last kWindow applied steps, oldest first
  int in_row_ = 0;
  int64_t total_ = 0;
};

}  // namespace parti::train
