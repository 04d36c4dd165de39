// Data parallelism with ZeRO over the dp group (issue #3), on the flat buffers, unit by unit
// (ShardLayout): what each rank holds and what one step communicates, by stage:
//
//   stage  parameters              gradients                     AdamW moments  after backward
//   0      full replica            full; all-reduced in buckets  full           all update all
//   1      full replica            full; all-reduced in buckets  own blocks     update own blocks,
//                                                                               all-gather them
//   2      full replica            own blocks; each unit staged  own blocks     likewise
//                                  whole while its backward runs,
//                                  then reduce-scattered (the
//                                  embeddings: by pieces)
//   3      own blocks; a unit is   as stage 2                    own blocks     update own blocks
//          gathered just before
//          its forward and its
//          backward (the next one
//          prefetched), then freed
//          (the embeddings: by
//          pieces, broadcast)
//
// Stages 0 and 1 reduce only on the last micro-batch of an accumulation (GradReducer, buckets
// overlapped with backward; with a pipeline after the schedule). Stages 2 and 3 reduce-scatter
// every micro-batch's unit gradients as soon as they are final (non-blocking, overlapped with
// the next unit's backward; under a zero-bubble schedule in W) and add them into the shard:
// gradients never exist whole, at the price of one reduce-scatter per micro-batch (DeepSpeed's
// choice), pipelined or not. With one rank every stage is stage 0 without communication.
//
// Gradient compression (compress.h) changes how stages 0-1 sum a bucket: bf16 on the wire or
// PowerSGD. Under ZeRO-2/3, bf16 replaces each reduce-scatter by an all-to-all of bf16 blocks
// (each piece's reduce by a gather of bf16 to its owner) summed in fp32 by the owner; PowerSGD
// is rejected: its residual is a full-size gradient per rank, the memory ZeRO-2 exists to save.
//
// It is the model's UnitHooks: the trainer hands pass() to forward and backward.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parti/dist/process_group.h"
#include "parti/io/checkpoint_writer.h"
#include "parti/io/safetensors.h"
#include "parti/model/model.h"
#include "parti/optim/adamw.h"
#include "parti/parallel/data/compress.h"
#include "parti/parallel/data/grad_reducer.h"
#include "parti/parallel/data/shard_layout.h"
#include "parti/parallel/tensor/context.h"

namespace parti::parallel::data {

class DataParallel final : public model::UnitHooks<float> {
 public:
  // `tp`: the tensor-parallel group of a model built for tp > 1 (null otherwise). ZeRO shards
  // over dp only; each tp rank's buffers are its part of the model.
  // `sp`: sequence parallelism over tp in every pass.
  DataParallel(const model::Model<float>& model, dist::ProcessGroup& dp, int zero,
               size_t bucket_bytes, const optim::AdamWConfig& adamw,
               dist::ProcessGroup* tp = nullptr, bool sp = false,
               const CompressConfig& compress = {});
  ~DataParallel() override;
  int stage() const { return stage_; }
  // Block partitioning (issue #21): the tp group is a q x q grid with these row and column
  // groups; the passes get its context. The embedding unit is then never handed by pieces (a
  // rank holds a q^2-th of it).
  void set_grid(dist::ProcessGroup& row, dist::ProcessGroup& col, int q,
                tensor::GridStats* stats = nullptr);

  // Pipeline parallelism: this rank holds one stage's part of the model, `whole` is the whole
  // model's table (the checkpoint files' layout) and `pp` the pipeline group. With `tied_peer`
  // >= 0 (ignored when the model ties nothing) this stage holds a copy of the tied embedding
  // that the stage `tied_peer` holds too: reduce() adds their gradients (the first stage's copy is
  // the one checkpoints hold and the norm counts). ZeRO 0-1 then reduce after the schedule (pass()
  // installs no hooks); ZeRO 2-3 keep their hooks, and their shards of the two copies line up (the
  // tied parameter is a unit of its own on both stages).
  void set_pipeline(dist::ProcessGroup& pp, const model::ParamTable& whole, int tied_peer,
                    bool tied_owner);
  // Pipeline parallelism: the dp all-reduce of the whole gradient buffer (in buckets; ZeRO 0-1),
  // then the tied embedding's gradient exchange (whole, or this rank's block of it under ZeRO
  // 2-3). Nothing without a pipeline: pass() installed the hooks that reduce during backward.
  void reduce();

  // Initial values of this rank's parameters (a pure function of the seed: every layout agrees).
  void init(uint64_t seed);
  // This rank's parameters and moments from a checkpoint written at any layout.
  void load(const std::string& step_dir, int optimizer_step);
  // Parameters from another model file (train --init-from), the optimizer fresh (step 0).
  void load_params(const io::SafetensorsReader& weights);
  // PowerSGD's per-rank state (Q factors, residuals) from a checkpoint written at this very
  // layout (dp, tp, pp and rank R); false, and the state left fresh, when the checkpoint has
  // none for it (another layout or compression).
  bool load_compression(const std::string& step_dir);
  // Collective over dp and tp: every rank writes its own slices (the parameters every tp rank
  // holds whole: tp rank 0's); dp and tp rank 0 creates and finishes the folder. Returns the
  // step folder there, "" elsewhere.
  std::string save(const std::string& ckpt_dir, int64_t step, const nlohmann::json& state);
  // save()'s asynchronous form (train --async-save): collective as far as the copy of this
  // rank's slices into `writer`, whose thread writes them. Once every rank's writer is done
  // (the caller agrees on that), the process this returns true on calls writer.finish().
  bool start_save(const std::string& ckpt_dir, int64_t step, io::CheckpointWriter& writer);

  // One step: begin_step(); per micro-batch pass() -> forward, backward -> end_micro();
  // clip(); update().
  void begin_step();
  model::Pass<float> pass(int B, int T, core::Arena& arena, model::ActivationRecord<float>& record,
                          bool last_micro);
  void end_micro();
  // Returns the global gradient norm before clipping (over dp shards and tp parts; a parameter
  // every tp rank holds whole counts once). The clipping factor is applied by update(), in the
  // optimizer's pass over the gradients (the buffers themselves stay unscaled).
  double clip(double max_norm);
  void update(double lr);
  // The step's update is not applied (the step guard's verdict): parameters and moments stay;
  // with `nonfinite` gradients, compression state that absorbed them restarts.
  void skip_update(bool nonfinite);
  // The noise scale's measurement (parallel/batch/noise_scale.h; train --adaptive-batch): from
  // now on each step also sums the squared norms of its micro-batches' own gradients, a part
  // several tp ranks hold counted once, as clip() counts it. ZeRO 0-1 then reduce after the
  // schedule (not during the last backward) and take the difference of the buffer after each
  // backward (note_backward); ZeRO 2-3 take each staged unit (the embeddings' pieces) before it
  // is reduce-scattered. `cp` (null: none): a micro-batch's gradient is the sum of its cp ranks'
  // parts, summed over cp before the norm and counted on cp rank 0.
  void measure_micro_norms(dist::ProcessGroup* cp);
  void note_backward();  // after each backward compute (the executor's)
  // This rank's part of the step's sum over micro-batches of |gradient|^2 (the sum over every
  // rank of the job, dp x cp, tp and pp, is the step's).
  double micro_squares() const { return micro_squares_; }
  // Whether the parameters and AdamW moments this rank holds are all finite (local).
  bool finite() const;
  // What a forward-only pass (evaluation) uses: the full parameters, or (ZeRO-3) no buffer and
  // these hooks, which gather each unit. end_micro() afterwards frees what is still gathered.
  struct Forward {
    float* params;
    model::UnitHooks<float>* hooks;
    const tensor::TensorParallel* tp;  // null: tp = 1
  };
  Forward forward_only();

  int optimizer_step() const { return adamw_->step(); }
  // Full parameters (stages 0-2; stage 3 holds none).
  std::vector<float>& params();

  // Bytes this rank holds: the persistent buffers plus the high-water mark of staged units.
  struct Memory {
    size_t params, grads, optim;
    size_t gathered;  // of params: gathered units (stage 3)
    size_t staged;    // of grads: staged unit gradients (stages 2, 3)
    size_t compress;  // of grads: PowerSGD's residuals and Q factors
  };
  Memory memory() const;
  int64_t comm_bytes() const;  // sent since begin_step (ring estimate)
  const GradReducer& reducer() const { return reducer_; }
  BucketReduction& reduction() { return *reduction_; }

  void enter(model::Pass<float>& pass, int unit, model::Use use, int next) override;
  void leave(model::Pass<float>& pass, int unit, model::Use use, bool final) override;
  // ZeRO 2-3 take the embedding unit's gradient by pieces no larger than the largest other unit,
  // each reduced straight to the rank that owns it, so it never exists whole.
  bool by_pieces(int unit) const override;
  void reduce_by_pieces(model::Pass<float>& pass, int unit, const PieceFn& grad) override;
  // ZeRO-3 hands the embeddings' parameters by the same pieces, each broadcast by its owner
  // (the next one already on its way while the model uses this one).
  bool params_by_pieces(int unit) const override;
  void visit_params(model::Pass<float>& pass, int unit, const ParamsFn& fn) override;

 private:
  class Pool;
  enum class Kind { gather, reduce };  // reduce: a reduce-scatter or reduce of staged gradients
  struct InFlight;
  float* gathered(int unit);  // waits for (or starts and waits for) unit's gather
  void start_gather(int unit);
  void release_gathered(int unit);
  void reduce_scatter(int unit);
  void poll();
  int count_in_flight(Kind kind) const;
  void finish_oldest(Kind kind);
  void complete(InFlight& f);  // a finished reduction: its bf16 sum, its buffer back
  void count_ring(double factor, size_t elements);
  struct Piece {
    size_t begin, end;
    int owner;
  };
  std::vector<Piece> pieces(int unit) const;  // the unit's pieces, in flat order
  // The sum of squares of `values` (flat elements [begin, end)) over the parameters this rank
  // counts in norms (a part several tp ranks hold: its owner; a pipeline's second wte: never).
  double counted_squares(const float* values, size_t begin, size_t end) const;
  // measure_micro_norms: adds one micro-batch's gradient part [begin, end) (summed over cp
  // first, in place) to micro_squares_.
  void add_micro_squares(float* values, size_t begin, size_t end);
  // The unit that is the tied parameter alone (both pipeline stages cut it alike).
  int tied_unit() const;
  PowerSgd* power_sgd() const;  // the reduction, when it is PowerSGD
  // save()'s parts: this rank's slices of the flat parameters and moments; whether it creates
  // and finishes the files; their creation (collective); its own side files (PowerSGD's state).
  std::vector<io::CheckpointSlice> save_slices();
  bool save_leader() const;
  void begin_save(const std::string& ckpt_dir, int64_t step);
  std::vector<io::SideFile> save_side_files(const std::string& ckpt_dir, int64_t step) const;
  std::string compression_file(const std::string& step_dir) const;

  const model::Model<float>& model_;
  const model::ParamTable& table_;
  dist::ProcessGroup& dp_;
  dist::ProcessGroup* tp_;
  tensor::TensorParallel tp_context_;  // the passes' (tp > 1)
  const tensor::TensorParallel* tp_context() const {
    return tp_ != nullptr && tp_->size() > 1 ? &tp_context_ : nullptr;
  }
  int stage_;
  ShardLayout layout_;
  std::vector<int> owned_units_;  // units with a non-empty block here, in order (AdamW segments)
  std::unique_ptr<optim::AdamW<float>> adamw_;
  CompressConfig compress_;
  std::unique_ptr<BucketReduction> reduction_;  // how GradReducer sums a bucket
  int64_t reduction_mark_ = 0;                  // its bytes_sent() at begin_step
  GradReducer reducer_;
  std::vector<float> params_;        // full (stages 0-2)
  std::vector<float> grads_;         // full (stages 0-1)
  std::vector<float> shard_params_;  // own blocks (stage 3)
  std::vector<float> shard_grads_;   // own blocks (stages 2-3)
  std::unique_ptr<Pool> gather_pool_, stage_pool_;
  std::vector<float*> gathered_;  // per unit: its gathered parameters, or null
  std::vector<float*> staged_;    // per unit: its staged gradients this micro-batch, or null
  std::vector<std::unique_ptr<InFlight>> in_flight_;
  size_t piece_ = 1;         // elements of one piece of a unit taken by pieces
  double grad_scale_ = 1.0;  // clip()'s factor for the next update()
  bool reducing_ = false;    // this micro-batch's gradients are reduced (stages 0-1: last only)
  // measure_micro_norms: on; its cp group; the gradients at the last backward (stages 0-1), the
  // difference since, and the step's sum.
  bool measuring_ = false;
  dist::ProcessGroup* measure_cp_ = nullptr;
  std::vector<float> last_grads_, increment_;
  std::vector<float> cp_sum_;  // a staged part summed over cp (stages 2-3)
  double micro_squares_ = 0.0;
  int next_ = -1;  // the unit announced to come next
  int64_t comm_bytes_ = 0;
  dist::ProcessGroup* pp_ = nullptr;
  const model::ParamTable* whole_ = nullptr;
  int tied_peer_ = -1;       // the other stage holding wte
  bool tied_owner_ = true;   // this stage's wte is written and counted
  std::vector<float> tied_;  // the peer's wte gradient
};

}  // namespace parti::parallel::data
