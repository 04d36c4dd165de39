// The trainer: one optimizer step is the pipeline executor running this stage's instruction list
// (parallel/pipeline/executor.h; with pp = 1 a one-stage 1F1B list): for each of G/(B*dp)
// micro-batches sample this rank's rows, forward, backward (dloss = 1/(G*T), so the summed
// gradient is that of the mean loss over every token of the global batch); reduce the gradients
// over dp x cp; global-norm clip; AdamW with the scheduled learning rate.
// Micro-batch m of dp rank r draws global rows [(m*dp + r)*B, (m*dp + r + 1)*B) of the step, so
// the union over ranks is exactly the one-process batch (under cp, each rank its chunks of them).
// The buffers, the reductions and ZeRO (--zero 0-3) belong to parallel::data::DataParallel, which
// the executor's passes report their units to; the trainer builds the pieces from the mesh and
// the config and runs the steps. Evaluation (forward only, through the same executor), metrics
// (stdout line + JSONL) and checkpoints happen between steps.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

#include "parti/core/arena.h"
#include "parti/data/blend.h"
#include "parti/data/sampler.h"
#include "parti/dist/counting_group.h"
#include "parti/dist/mesh.h"
#include "parti/dist/process_group.h"
#include "parti/io/checkpoint_writer.h"
#include "parti/io/metrics.h"
#include "parti/model/model.h"
#include "parti/parallel/batch/batch_schedule.h"
#include "parti/parallel/context/ring_attention.h"
#include "parti/parallel/data/data_parallel.h"
#include "parti/parallel/pipeline/executor.h"
#include "parti/parallel/pipeline/trace.h"
#include "parti/train/config.h"
#include "parti/train/preempt.h"

namespace parti::train {

struct StepStats {
  int64_t step;  // 1-based number of the step just done
  double loss;   // mean token loss of the global batch
  double lr;
  double grad_norm;  // before clipping
  double step_ms;
  double tokens_per_s;
  double mfu;              // model FLOPs / (measured sgemm ceiling)
  int global_batch;        // sequences in this step (parallel/batch/)
  int64_t tokens_seen;     // trained on so far, this step included
  double gns = 0.0;        // --adaptive-batch: the smoothed noise scale after this step
  double elapsed_s = 0.0;  // since this run started (Trainer::run)
  double eta_s = -1.0;     // until it ends, from its pace so far (-1: unknown)
  std::string skipped;     // why the update was not applied (train/guard.h); "" when it was
  int stop = 0;            // the run stops after this step: Trainer::agreed_stop()
};

class Trainer {
 public:
  // Loads the data and builds the model; with cfg.io.resume, continues from the checkpoint.
  // `mesh` holds this rank's groups (cfg.layout's sizes; gradients are summed, and ZeRO shards,
  // over its (cp, dp) group), `world` every rank (for the trace; null: this rank's events only).
  Trainer(TrainConfig cfg, const dist::Mesh& mesh, dist::ProcessGroup* world = nullptr);
  ~Trainer();
  StepStats step();
  double evaluate();
  // The whole run: prints the resolved config, then a line per step. Throws RunStopped (on
  // every rank alike) when the step guard stops it (kExitDiverged), or after a checkpoint when a
  // stop signal or --time-limit ends it (kExitPreempted; train/preempt.h).
  void run(std::ostream& out);
  // Checkpoint of the current state, blocking (collective); returns its folder on the process
  // that finished it, "" on the others.
  std::string save();
  // The executor of every step (a pipeline's stage; with pp = 1 the one stage).
  const parallel::pipeline::Executor& executor() const { return *executor_; }
  // Idle share of each pipeline stage in the last step (pp > 1; every rank has all of them).
  const std::vector<double>& pipeline_idle() const { return pp_idle_; }

  const TrainConfig& config() const { return cfg_; }
  const model::Model<float>& model() const { return *model_; }
  std::vector<float>& params() { return parallel_->params(); }  // full (ZeRO 0-2)
  // Bytes this rank holds in each buffer kind (the JSONL's mem_* fields).
  struct Memory {
    size_t params, grads, optim, activations;
    size_t gathered, staged;  // of params and grads: transient unit buffers (ZeRO-2/3)
    size_t workspace;         // scratch inside one sublayer (gathered inputs, partial sums)
    size_t compress;          // of grads: gradient compression state (PowerSGD)
  };
  Memory memory() const;

 private:
  bool is_logger() const {
    return dp_.rank() == 0 && (tp_ == nullptr || tp_->rank() == 0) &&
           (pp_ == nullptr || pp_->rank() == 0) && (cp_ == nullptr || cp_->rank() == 0);
  }
  int cp_size() const { return cp_ == nullptr ? 1 : cp_->size(); }
  int local_seq() const { return cfg_.model.seq_len / cp_size(); }  // tokens of a row here
  // The micro-batch's rows (first row `first` of the step's global order) into inputs_/targets_:
  // under cp only this rank's chunks of them.
  void sample(int first, int rows, int32_t* inputs, int32_t* targets);
  // How this run's passes run (workspace, recomputation, context parallelism).
  parallel::pipeline::PassOptions pass_options();
  int tp_size() const { return tp_ == nullptr ? 1 : tp_->size(); }
  int pp_size() const { return pp_ == nullptr ? 1 : pp_->size(); }
  void build_executor();
  parallel::data::CompressConfig compress_config() const;
  // One optimizer step through the executor (every layout; one stage included). At its end the
  // loss is summed over the ranks, the gradients clipped and the step judged: applied, or
  // skipped. Fills the loss (mean over the global batch), norm and skipped of *stats.
  void run_schedule(float dloss, double lr, StepStats* stats);
  // The maximum of `value` over every rank of the job (collective over the step's groups).
  double max_over_ranks(double value);
  void max_over_ranks(double* values, size_t count);  // each of them
  // Loads the newest good checkpoint (--resume): parameters, moments, step, batch schedule and
  // step guard, after checking it is this run's model and training flags.
  void resume();
  // The state.json of a checkpoint of the current state (collective: refuses, on every rank,
  // parameters or moments that are not finite).
  nlohmann::json checkpoint_state();
  // A checkpoint now (collective): blocking, printed and pruned; or with --async-save started,
  // after the previous one is done (trainer_checkpoint.cpp).
  void checkpoint(std::ostream& out);
  // --async-save: after each step, once every rank's writes are done, the finishing process
  // finishes the checkpoint in its thread; once that is done it prints it. Collective only
  // through agreed_stop()'s reduction.
  void poll_save(std::ostream& out);
  // Completes a save in flight (collective when one is): a new save, a stop and the run's end
  // wait for it.
  void drain_save(std::ostream& out);
  void report_save(std::ostream& out);  // the finishing process: its folder and what was pruned
  // Whether every parameter and moment this job holds is finite (collective over every group).
  bool state_finite();
  double tokens_per_step() const { return static_cast<double>(batch_now_) * cfg_.model.seq_len; }
  // The executor's list for a step of `batch` sequences (rebuilt when the batch changes).
  void set_batch(int batch);
  // Whether the run has done what it was asked: --steps steps, or --train-tokens tokens.
  bool finished() const {
    return cfg_.train_tokens > 0 ? batch_.state().tokens >= cfg_.train_tokens : step_ >= cfg_.steps;
  }
  // --adaptive-batch: the step's noise-scale measurement (summed over every rank) into the batch
  // schedule, which picks the next batch; its estimate into stats->gns.
  void observe_noise(StepStats* stats);
  // This step's learning rate: the schedule at the run's progress, scaled for its batch.
  double step_lr() const;
  std::string step_line(const StepStats& s) const;
  // The time since the run started and the ETA, from its pace since (first_step, first_tokens);
  // `last`: this run's last step (--stop-after).
  void fill_progress(StepStats& s, int64_t first_step, int64_t first_tokens, int64_t last) const;
  // Whether the run stops after this step, agreed by every rank (collective): 0 no, else the
  // signal's number, or 1000: --time-limit reached.
  int agreed_stop();
  void finish(std::ostream& out) const;  // the trace, when asked for
  // Appends this step's events to the trace (the pipeline's, or one process's F/B/STEP).
  void trace(double start, double end, parallel::pipeline::Instruction what);
  void write_trace() const;
  // The resolved configuration, compute, resume and pipeline lines a run starts with (and
  // config.json beside the checkpoints).
  void print_header(std::ostream& out) const;
  // Timed copies of the tp group (and of the grid's row and column groups).
  void count_tp(const dist::Mesh& mesh);
  // The JSONL record of a step: its stats, this rank's memory and communication, and what each
  // parallelism did.
  nlohmann::ordered_json step_record(const StepStats& s) const;
  // pp > 1: each stage's idle share, the peak in flight and this stage's mean instruction times.
  void add_pipeline_record(nlohmann::ordered_json& record) const;
  TrainConfig cfg_;
  dist::ProcessGroup& dp_;
  dist::ProcessGroup* tp_;
  dist::ProcessGroup* pp_;
  dist::ProcessGroup* world_;
  dist::ProcessGroup* cp_;                           // null: no context parallelism
  dist::ProcessGroup& grads_;                        // gradients are summed over it: dp, or dp x cp
  std::vector<int32_t> positions_;                   // cp: the global position of each local token
  parallel::context::ContextParallel cp_context_;    // cp: the passes'
  std::vector<int32_t> full_inputs_, full_targets_;  // cp: whole rows before the chunks are taken
  std::unique_ptr<dist::CountingGroup> tp_counted_;  // tp_, timed (tp > 1)
  // Block partitioning: the grid's row and column groups, timed (null without a grid).
  std::unique_ptr<dist::CountingGroup> grid_row_, grid_col_;
  parallel::tensor::GridStats grid_, last_grid_;  // the SUMMA products' (step, last step)
  data::Blend train_;                             // the datasets' memory-mapped shards
  data::Blend val_;
  std::unique_ptr<model::Model<float>> model_;
  std::unique_ptr<model::Model<float>> whole_;  // pp > 1: the whole model's table (checkpoints)
  std::unique_ptr<parallel::pipeline::Executor> executor_;
  std::vector<double> pp_idle_;
  std::vector<parallel::pipeline::TraceEvent> trace_;
  std::unique_ptr<parallel::data::DataParallel> parallel_;
  std::unique_ptr<data::Sampler> sampler_;
  parallel::batch::BatchSchedule batch_;  // the global batch of each step (what was consumed)
  int batch_now_ = 0;                     // the batch the executor's list is built for
  int last_batch_ = 0;                    // the previous step's (the step line shows a change)
  core::Arena workspace_;  // scratch inside one sublayer (tensor and sequence parallelism)
  std::vector<int32_t> inputs_;
  std::vector<int32_t> targets_;
  io::MetricsLog log_;
  StepGuard guard_;
  const StopSignals* signals_ = nullptr;  // run()'s, while it runs
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  int64_t step_ = 0;
  bool compression_resumed_ = false;              // PowerSGD's state came from the checkpoint
  std::string resumed_from_;                      // the step folder a resumed run loaded
  std::vector<std::string> passed_over_;          // newer checkpoints that were damaged (resume.h)
  std::string last_checkpoint_;                   // the newest finished here ("" elsewhere)
  std::unique_ptr<io::CheckpointWriter> writer_;  // --async-save
  bool save_pending_ = false;   // a save was started and some rank's writes may not be done
  bool save_finisher_ = false;  // this process finishes the pending save
  nlohmann::json pending_state_;
  int64_t pending_step_ = 0;
  bool saves_written_ = true;  // agreed_stop()'s: every rank's writes done
  bool save_failed_ = false;   // agreed_stop()'s: some rank's write failed
  int64_t comm_bytes_ = 0;     // sent by this rank in the last step's collectives (ring estimate)
  // cp: what ring attention did in the step so far (ring_) and in the last whole step.
  parallel::context::RingStats ring_, last_ring_;
  double tp_comm_ms_ = 0.0;  // in tensor-parallel collectives in the last step
  double tp_bytes_ = 0.0;    // what this rank sent in them (CountingGroup::sent_elements)
  double peak_gflops_ = 0.0;
  std::string peak_source_;  // how peak_gflops_ was obtained (ceiling.h)
  std::string run_id_;       // this launch's, in every JSONL record
};

}  // namespace parti::train
