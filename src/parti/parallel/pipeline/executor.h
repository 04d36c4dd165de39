// The executor: runs one stage's lowered instruction list (schedule.h) for one optimizer step.
//   F / B / I / W   forward, backward, input-gradient and weight-gradient parts of one
//                   micro-batch's chunk (model::Model's forward_chunk, backward_chunk with the
//                   weight gradients deferred, backward_weight)
//   RA / RG         waits for a receive; every receive is posted (non-blocking, into the
//                   micro-batch's arena) one compute instruction ahead, so the transfer overlaps
//                   the compute before the one that needs it
//   SA / SG         posts a non-blocking send of the output (or input gradient) just made; sends
//                   are completed lazily, never waited on while a receive could be pending
//   REDUCE / STEP   the callbacks (gradient reduction; clipping and the optimizer)
// Each micro-batch's chunk has its own activation record and arena, taken from a pool when its
// forward starts and given back when its backward (W, under zero-bubble schedules) is done, so
// the pool's arenas hold exactly the activations of the micro-batches in flight.
// Messages are tagged by (producing chunk, micro-batch, kind), so any order of posting matches.
// Every instruction is timed (since the start of the step, after a pipeline barrier): the
// trace's events and the idle share (1 - compute time / the pipeline's span) come from them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "parti/core/arena.h"
#include "parti/dist/process_group.h"
#include "parti/model/model.h"
#include "parti/parallel/context/context.h"
#include "parti/parallel/data/data_parallel.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {

struct Event {
  Instruction what;
  double start, end;  // seconds since the step's start
};

// How a pass runs besides its buffers and groups: the sublayer workspace, recomputation, and
// context parallelism (the ring and each local token's global position).
struct PassOptions {
  core::Arena* workspace = nullptr;
  model::Recompute recompute = model::Recompute::none;
  const context::ContextParallel* cp = nullptr;
  const int32_t* positions = nullptr;
  int counted_rows = -1;  // forward_only: rows whose losses count (-1: all; model::Pass)
};

// What one optimizer step runs on (issue #16). The data-parallel state makes every pass (its
// buffers, unit hooks and tensor-parallel context) and reduces the gradients (REDUCE: after the
// schedule with pp > 1; with one stage, in buckets during backward). `sample` fills micro-batch
// m's B x T tokens and targets: this rank's rows of the step. STEP calls `optimizer_step` with
// the sum of the token losses this stage computed (the last stage's; 0 elsewhere): the trainer
// reduces the loss, clips, judges the step (train/guard.h) and updates.
struct StepContext {
  data::DataParallel& data;
  std::function<void(int m, int32_t* tokens, int32_t* targets)> sample;
  PassOptions options;
  std::function<void(double stage_loss)> optimizer_step;
};

class Executor {
 public:
  // `model` holds chunks stage, stage + P, ... of the schedule's P V chunks; `pp` is the pipeline
  // group (rank = stage); micro-batches are B x T tokens; `message` is the floats of one
  // activation between chunks (this rank's tokens x C: a tp rank's share under --sp).
  Executor(model::Model<float>& model, Schedule schedule, dist::ProcessGroup& pp, int B, int T,
           size_t message);
  ~Executor();
  const Schedule& schedule() const { return schedule_; }
  // Another list for the same stages and chunks, between steps: the batch changed
  // (parallel/batch/), and with it the micro-batches per step.
  void reschedule(Schedule schedule);
  int stage() const { return stage_; }

  // Runs this stage's list; returns the sum of the token losses it computed (last stage: the
  // micro-batches' losses; others 0). dloss scales every micro-batch's loss gradient.
  double run(StepContext& step, float dloss);
  // This step's events, in execution order.
  const std::vector<Event>& events() const { return events_; }
  // The pipeline's span (the first stage's start to the last compute anywhere, collective over
  // pp) and this stage's compute time in it, of the last run.
  double span() const { return span_; }
  double busy() const { return busy_; }
  double idle_share() const { return span_ > 0 ? 1.0 - busy_ / span_ : 0.0; }
  // The peak of the activations alive at once (every in-flight micro-batch's arena and deferred
  // products, measured at each compute instruction's own peak), or of evaluation's forward.
  size_t activation_bytes() const;
  int peak_in_flight() const { return peak_in_flight_; }
  // Mean seconds of this stage's instructions of kind `op` in the last run (0: none ran).
  double mean_seconds(Op op) const;

  // Forward only of one micro-batch of `rows` rows through the stages (evaluation), with the
  // data-parallel state's forward-only parameters (ZeRO-3: gathered unit by unit): its loss sum
  // on the last stage (0 elsewhere).
  double forward_only(data::DataParallel& data, const PassOptions& options, int rows,
                      const int32_t* tokens, const int32_t* targets);
  // When the last run started (seconds on the steady clock: common to the ranks of one machine).
  double start_time() const { return start_time_; }

 private:
  struct Slot;
  Slot& slot(int micro_batch, int chunk);  // taken from the pool on first use
  void release(int micro_batch, int chunk);
  void post_receive(const Instruction& in);
  void retire_sends(bool wait);
  // Waits for a receive or posts a send (RA, RG, SA, SG).
  void communicate(const Instruction& in);
  // The bytes of activations alive at once at the peak of the compute that just ran on `current`.
  size_t live_bytes(Slot& current);
  // Runs one compute instruction (F, B, I, W) of `step`; adds a last chunk's losses to *loss.
  void compute(const Instruction& in, StepContext& step, float dloss, double* loss);
  // A training pass of micro-batch m over a slot's arena and record.
  model::Pass<float> pass(StepContext& step, int m, core::Arena& arena,
                          model::ActivationRecord<float>& record) const;
  template <typename Fn>
  void for_each_live(Fn&& fn);  // the slots holding activations (in flight or retiring)
  int tag(int producer_chunk, int micro_batch, bool grad) const;
  model::Model<float>& model_;
  Schedule schedule_;
  dist::ProcessGroup& pp_;
  int stage_, B_, T_;
  size_t message_;
  std::vector<std::unique_ptr<Slot>> pool_;  // every slot ever made (their arenas: the memory)
  std::vector<Slot*> slots_;                 // [micro-batch * chunks + chunk], or null
  std::vector<Slot*> free_;                  // done, ready for reuse
  std::vector<Slot*> retiring_;              // done, sends still in flight
  std::vector<Event> events_;
  core::Arena forward_arena_;
  double span_ = 0.0, busy_ = 0.0, start_time_ = 0.0;
  int in_flight_ = 0, peak_in_flight_ = 0;
  size_t peak_live_ = 0;
};

}  // namespace parti::parallel::pipeline
