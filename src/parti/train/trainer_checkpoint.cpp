// The trainer's checkpoints: blocking saves, and asynchronous ones (--async-save) started at a
// step boundary, agreed complete through the per-step reduction, finished by one process.
#include <ostream>

#include "parti/core/check.h"
#include "parti/io/checkpoint.h"
#include "parti/model/registry.h"
#include "parti/train/resume.h"
#include "parti/train/saved_run.h"
#include "parti/train/trainer.h"

namespace parti::train {
namespace {

void check_same_model(const model::ModelConfig& ours, const model::ModelConfig& theirs,
                      const std::string& where) {
  auto same = [&](int a, int b, const char* flag) {
    PARTI_CHECK(a == b, ConfigError, "--resume: ", flag, " ", a, " differs from the checkpoint's ",
                b, " in ", where);
  };
  same(ours.layers, theirs.layers, "--layers");
  same(ours.heads, theirs.heads, "--heads");
  same(ours.dim, theirs.dim, "--dim");
  same(ours.seq_len, theirs.seq_len, "--seq-len");
  same(ours.vocab, theirs.vocab, "--vocab");
}

}  // namespace

nlohmann::json Trainer::checkpoint_state() {
  nlohmann::json state;
  state["config"] = to_json(cfg_);
  state["optimizer_step"] = parallel_->optimizer_step();
  state["data_position"] = {{"next_step", step_}, {"seed", cfg_.data.seed}};
  state["batch"] = batch_.state().to_json();
  nlohmann::json hf = model::hf_config(cfg_.model);
  if (cfg_.data.eot >= 0) {  // Hugging Face's GPT-2 begins and ends documents with its EOT
    hf["bos_token_id"] = cfg_.data.bos >= 0 ? cfg_.data.bos : cfg_.data.eot;
    hf["eos_token_id"] = cfg_.data.eot;
  }
  state["hf_config"] = hf;
  state["guard"] = guard_.to_json();
  // The guard keeps non-finite updates out; this makes "no checkpoint holds a non-finite value"
  // hold whatever got in (a finite update can still overflow a moment).
  PARTI_CHECK(state_finite(), CheckpointError, "step ", step_,
              ": the parameters or optimizer moments hold non-finite values; no checkpoint "
              "written (the latest one in ",
              cfg_.io.ckpt_dir, " is unchanged)");
  return state;
}

void Trainer::resume() {
  ResumePoint point = find_resume_point(cfg_.io);
  const SavedRun& saved = point.run;
  const std::string& dir = saved.dir;
  check_same_model(cfg_.model, saved.model, dir);
  check_resumed_flags(saved.state.at("config"), to_json(cfg_), cfg_.io.allow_changes);
  resumed_from_ = dir;
  passed_over_ = std::move(point.skipped);
  parallel_->load(dir, saved.optimizer_step);
  compression_resumed_ = parallel_->load_compression(dir);
  step_ = saved.step;
  batch_.restore(parallel::batch::BatchState::from_state(
      saved.state, step_, cfg_.data.batch.global_batch, cfg_.model.seq_len));
  if (saved.state.contains("guard")) {  // checkpoints before the guard have none: a fresh one
    guard_.from_json(saved.state.at("guard"));
  }
}

std::string Trainer::save() { return parallel_->save(cfg_.io.ckpt_dir, step_, checkpoint_state()); }

void Trainer::checkpoint(std::ostream& out) {
  if (cfg_.io.async_save) {
    drain_save(out);  // one save in flight at most
    nlohmann::json state = checkpoint_state();
    if (writer_ == nullptr) writer_ = std::make_unique<io::CheckpointWriter>();
    save_finisher_ = parallel_->start_save(cfg_.io.ckpt_dir, step_, *writer_);
    pending_state_ = std::move(state);
    pending_step_ = step_;
    save_pending_ = true;
    saves_written_ = false;
    return;
  }
  // Every rank writes its own slices of the one logical checkpoint.
  const std::string dir = save();
  out << "checkpoint: " << dir << std::endl;
  if (!dir.empty()) {  // the process that finished it
    last_checkpoint_ = dir;
    for (const std::string& old : io::prune_checkpoints(cfg_.io.ckpt_dir, cfg_.io.keep_last)) {
      out << "removed " << cfg_.io.ckpt_dir << "/" << old << std::endl;
    }
  }
}

void Trainer::poll_save(std::ostream& out) {
  if (save_pending_ && saves_written_) {  // agreed in this step's reduction: every rank alike
    save_pending_ = false;
    if (save_failed_) {
      writer_->wait_written();  // this rank's own error, if it was this one
      throw CheckpointError(str_cat("the checkpoint of step ", pending_step_,
                                    " failed to write on another rank; the latest in ",
                                    cfg_.io.ckpt_dir, " is unchanged"));
    }
    if (save_finisher_) writer_->finish(pending_state_, cfg_.io.keep_last);
  }
  if (writer_ != nullptr && writer_->finishing() && writer_->finished()) {
    report_save(out);
  }
}

void Trainer::drain_save(std::ostream& out) {
  if (save_pending_) {
    std::exception_ptr error;
    try {
      writer_->wait_written();
    } catch (...) {
      error = std::current_exception();
    }
    const bool failed = max_over_ranks(error != nullptr ? 1.0 : 0.0) > 0.0;
    save_pending_ = false;
    if (error != nullptr) std::rethrow_exception(error);
    PARTI_CHECK(!failed, CheckpointError, "the checkpoint of step ", pending_step_,
                " failed to write on another rank; the latest in ", cfg_.io.ckpt_dir,
                " is unchanged");
    if (save_finisher_) writer_->finish(pending_state_, cfg_.io.keep_last);
  }
  if (writer_ != nullptr && writer_->finishing()) {
    report_save(out);
  }
}

void Trainer::report_save(std::ostream& out) {
  std::vector<std::string> removed;
  last_checkpoint_ = writer_->wait_finished(&removed);
  out << "checkpoint: " << last_checkpoint_ << std::endl;
  for (const std::string& old : removed) {
    out << "removed " << cfg_.io.ckpt_dir << "/" << old << std::endl;
  }
}

}  // namespace parti::train
