// The trainer: one optimizer step is
//   zero grads; for each of G/(B*dp) micro-batches: sample this rank's rows, forward, backward
//   (dloss = 1/(G*T), so the summed gradient is that of the mean loss over every token of the
//   global batch); all-reduce the gradients over dp; global-norm clip; AdamW with the scheduled
//   learning rate (every dp rank applies the same update to its replica).
// Micro-batch m of dp rank r draws global rows [(m*dp + r)*B, (m*dp + r + 1)*B) of the step, so
// the union over ranks is exactly the one-process batch. The last micro-batch's backward hands
// finished gradient ranges to a GradReducer, which all-reduces them in buckets while backward
// goes on (earlier micro-batches of an accumulation reduce nothing).
// ZeRO 1 (--zero 1): the flat buffers are padded to a multiple of dp and each rank owns the
// AdamW moments of one contiguous shard; after the (full) gradient all-reduce each rank updates
// its shard and the parameters are all-gathered back into every replica.
// Evaluation, metrics (stdout line + JSONL) and checkpoints happen between steps.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

#include "parti/core/arena.h"
#include "parti/data/sampler.h"
#include "parti/data/token_file.h"
#include "parti/dist/process_group.h"
#include "parti/io/metrics.h"
#include "parti/model/gpt.h"
#include "parti/optim/adamw.h"
#include "parti/parallel/grad_reducer.h"
#include "parti/train/config.h"

namespace parti::train {

struct StepStats {
  int64_t step;  // 1-based number of the step just done
  double loss;   // mean token loss of the global batch
  double lr;
  double grad_norm;  // before clipping
  double step_ms;
  double tokens_per_s;
  double mfu;  // model FLOPs / (measured sgemm ceiling)
};

class Trainer {
 public:
  // Loads the data and builds the model; with cfg.io.resume, continues from the checkpoint.
  // `dp` is this rank's data-parallel group (a group of one for a single process).
  Trainer(TrainConfig cfg, dist::ProcessGroup& dp);
  ~Trainer();
  StepStats step();
  double evaluate();
  // The whole run: prints the resolved config, then a line per step; returns the last stats.
  void run(std::ostream& out);
  std::string save();  // checkpoint of the current state; returns its folder

  const TrainConfig& config() const { return cfg_; }
  const model::Gpt<float>& gpt() const { return *gpt_; }
  std::vector<float>& params() { return params_; }
  // Bytes this rank holds in each buffer kind (the JSONL's mem_* fields).
  struct Memory {
    size_t params, grads, optim, activations;
  };
  Memory memory() const;

 private:
  bool is_logger() const { return dp_.rank() == 0; }
  TrainConfig cfg_;
  dist::ProcessGroup& dp_;
  data::TokenFile train_;
  data::TokenFile val_;
  std::unique_ptr<model::Gpt<float>> gpt_;
  std::vector<float> params_;
  std::vector<float> grads_;
  std::unique_ptr<optim::AdamW<float>> adamw_;
  std::unique_ptr<data::Sampler> sampler_;
  core::Arena arena_;
  std::unique_ptr<model::ActivationRecord<float>> record_;
  std::vector<int32_t> inputs_;
  std::vector<int32_t> targets_;
  io::MetricsLog log_;
  parallel::GradReducer reducer_;
  bool sharded() const { return cfg_.layout.zero >= 1 && dp_.size() > 1; }
  void gather_moments(std::vector<float>& m, std::vector<float>& v);
  int64_t step_ = 0;
  int64_t comm_bytes_ = 0;  // sent by this rank in the last step's collectives (ring estimate)
  double peak_gflops_ = 0.0;
};

}  // namespace parti::train
