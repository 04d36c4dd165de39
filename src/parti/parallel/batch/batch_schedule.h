// Dynamic slicing of the data (issue #22): how many sequences each optimizer step takes.
//
//   fixed  every step takes --global-batch G
//   ramp   --batch-ramp S,I,N (Megatron's --rampup-batch-size): K = (G - S) / I increments spread
//          evenly over the first N samples; after n samples consumed the batch is
//          S + I * floor(n K / N), and G from sample N on. Integer arithmetic: every layout and a
//          resumed run compute the same sizes.
//   adaptive  --adaptive-batch: starts at --min-global-batch; after each step the batch becomes
//          the smoothed noise scale B_noise (noise_scale.h; McCandlish et al.'s most useful
//          batch) rounded to a multiple of --batch-quantum Q, within [min, max], at most twice
//          the last; a loss above 1.1 x its moving average (a spike) halves it and holds it from
//          growing for 10 steps. The measurement compares each micro-batch's gradient (the same
//          sequences at every layout) with the whole batch's.
//
// The batch is a function of what the run has consumed (its samples), never of the layout: at
// any dp x cp x tp x pp, and after a resume, step s takes the same rows of the same sample
// numbers (data/sampler.h: sample n of the run) as one process does. A layout runs a batch as
// G / (micro-batch x dp) micro-batches per rank, so every size the schedule can take must divide
// by micro-batch x dp (validate() names the first that does not); a pipeline rebuilds its
// instruction list when the number changes.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parti/model/config.h"
#include "parti/parallel/batch/noise_scale.h"
#include "parti/parallel/layout.h"

namespace parti::parallel::batch {

struct BatchConfig {
  int global_batch = 8;  // sequences per step; with a ramp, the batch it ends at
  // --batch-ramp START,INCREMENT,SAMPLES (start 0: no ramp).
  int ramp_start = 0;
  int ramp_increment = 0;
  int64_t ramp_samples = 0;

  // --adaptive-batch --min-global-batch --max-global-batch --batch-quantum (global_batch is
  // then max_batch: the learning rate's reference).
  bool adaptive = false;
  int min_batch = 0;
  int max_batch = 0;
  int quantum = 0;

  bool ramps() const { return ramp_start > 0; }
  // Every global batch a run may take, ascending (a fixed batch: one).
  std::vector<int> sizes() const;
  // The words of the flags that set the sizes, for messages ("--batch-ramp 4,4,16").
  std::string flag() const;
};

// Each rule the batch flags break, alone and with this layout and model (every size through
// parallel::validate's batch and schedule rules), each naming the flag; empty: legal.
std::vector<std::string> validate(const BatchConfig& b, const Layout& l,
                                  const model::ModelConfig& m);

// Where a run stands in its batch schedule: what it has consumed (and, adaptive, what it
// measured). state.json's "batch".
struct BatchState {
  int64_t samples = 0;  // sequences trained on so far (the next step's first sample number)
  int64_t tokens = 0;   // samples x seq_len
  // Adaptive: the next step's batch, the noise scale's averages, the loss's moving average and
  // the steps the batch may not grow after a spike.
  int batch = 0;
  NoiseScale noise;
  double loss_average = 0.0;
  int hold = 0;
  nlohmann::ordered_json to_json() const;
  // From a checkpoint's state.json: its "batch", or (written before batches could change)
  // `step` fixed batches of `global_batch`.
  static BatchState from_state(const nlohmann::json& state, int64_t step, int global_batch,
                               int seq_len);
};

class BatchSchedule {
 public:
  BatchSchedule(BatchConfig config, int seq_len);
  // The global batch of the next step.
  int next() const;
  // A step of `batch` sequences is done.
  void advance(int batch);
  // Adaptive: this step's measurement (`m.big` its batch) and loss choose the next batch.
  void observe(const NormPair& m, double loss);
  const BatchState& state() const { return state_; }
  // A resumed run's state (an adaptive run from a checkpoint without one: at the minimum).
  void restore(const BatchState& state);
  const BatchConfig& config() const { return config_; }

 private:
  BatchConfig config_;
  int seq_len_;
  BatchState state_;
};

}  // namespace parti::parallel::batch
