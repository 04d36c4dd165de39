// TrainConfig: everything `parti train` resolves from a preset and flags, passed on in parts
// (each builder takes only its sub-config). validate() collects every violated rule at once,
// each naming the flag, before any work starts.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parti/model/config.h"
#include "parti/optim/adamw.h"
#include "parti/optim/lr_schedule.h"
#include "parti/parallel/batch/batch_schedule.h"
#include "parti/parallel/layout.h"
#include "parti/train/guard.h"

namespace parti::train {

struct OptimConfig {
  double lr = 6e-4;
  double min_lr = 6e-5;
  int warmup = 0;
  double grad_clip = 1.0;  // <= 0: no clipping
  optim::AdamWConfig adamw;
};

struct DataConfig {
  std::string dir;        // holds train.bin, val.bin, meta.json
  std::string tokenizer;  // from meta.json: gpt2, llama3 or byte (generation decodes with it)
  int bos = -1;           // from meta.json: the begin and end-of-text ids (-1: unknown), for
  int eot = -1;           // the Hugging Face config.json beside checkpoints
  parallel::batch::BatchConfig batch;  // --global-batch, --batch-ramp: sequences per step
  uint64_t seed = 1337;                // initialisation and data order
  int eval_every = 0;                  // steps; 0: only at the end when eval_batches > 0
  int eval_batches = 4;                // micro-batches of validation windows per evaluation
};

struct IoConfig {
  std::string ckpt_dir;
  int ckpt_every = 0;       // steps; 0: only at the end
  int keep_last = 0;        // complete checkpoints kept, the newest; 0: all
  bool async_save = false;  // saves written by a background thread while training goes on
  bool resume = false;
  std::string resume_from;  // --resume PATH: a step folder or a checkpoint folder ("": --ckpt-dir)
  bool overwrite = false;   // a new run may replace the checkpoints in --ckpt-dir
  std::vector<std::string> allow_changes;  // training flags a resumed run may change
  std::string init_from;  // a Hugging Face model folder: its weights start the run (step 0)
  std::string log;        // JSONL path
  std::string trace;      // Chrome/Perfetto trace of the pipeline's instructions (JSON)
};

struct TrainConfig {
  std::string preset;
  parallel::Layout layout = {.micro_batch = 8};  // the ranks, the micro-batch, recomputation
  model::ModelConfig model;
  OptimConfig optim;
  DataConfig data;
  IoConfig io;
  int steps = 10;
  // The run's length in tokens instead (0: --steps): it ends after the first step that reaches
  // it, and the learning rate's schedule runs in tokens (warmup: warmup_tokens).
  int64_t train_tokens = 0;
  int64_t warmup_tokens = 0;
  // How the learning rate follows a batch other than --global-batch (a ramp's smaller ones):
  // none, linear, sqrt (optim::batch_lr_factor).
  std::string lr_batch_scaling = "none";
  int stop_after = 0;         // stop this run after so many steps (0: run to --steps)
  GuardConfig guard;          // skipped steps: non-finite, spikes (train/guard.h)
  double time_limit_min = 0;  // checkpoint and stop after this much training (0: none)
  double comm_timeout = 600;  // seconds a rank may wait in one collective before the job ends
  // Testing aid: dp rank `fault_hang_rank` stops responding at the start of step
  // `fault_hang_step` (1-based), as a stuck rank would (-1: never).
  int fault_hang_rank = -1;
  int fault_hang_step = 0;
  // Testing aid: dp rank `fault_skip_rank` skips the loss all-reduce of step `fault_skip_step`,
  // as a rank with a bug would (-1: never).
  int fault_skip_rank = -1;
  int fault_skip_step = 0;
  // Testing aid: from step `fault_nan_step` (1-based) on, `fault_nan_steps` steps get a NaN loss
  // gradient on dp rank 0 (so NaN gradients on every rank after the reduction).
  int fault_nan_step = 0;
  int fault_nan_steps = 1;
  bool check_collectives = false;  // compare every collective's call across ranks first
  int threads = 1;
  double peak_gflops = 0;  // per rank, what MFU is against (0: the cached sgemm ceiling, ceiling.h)
  // Micro-batches per rank per step: global batch = micro-batch x dp x accumulation.
  int accumulation() const { return layout.micro_batches(data.batch.global_batch); }
  optim::LrSchedule schedule() const {
    return train_tokens > 0
               ? optim::LrSchedule{optim.lr, optim.min_lr, static_cast<double>(warmup_tokens),
                                   static_cast<double>(train_tokens)}
               : optim::LrSchedule{optim.lr, optim.min_lr, static_cast<double>(optim.warmup),
                                   static_cast<double>(steps)};
  }
};

std::vector<std::string> validate(const TrainConfig& cfg);
nlohmann::ordered_json to_json(const TrainConfig& cfg);
model::ModelConfig model_from_json(const nlohmann::json& j);
nlohmann::ordered_json model_to_json(const model::ModelConfig& m);

}  // namespace parti::train
