#include "parti/train/trainer.h"

#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <thread>

#include "parti/core/check.h"
#include "parti/core/cpu.h"
#include "parti/data/sampler.h"
#include "parti/io/checkpoint.h"
#include "parti/train/evaluate.h"

namespace parti::train {
namespace {

void check_same_model(const model::GptConfig& ours, const model::GptConfig& theirs,
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

Trainer::Trainer(TrainConfig cfg, dist::ProcessGroup& dp, dist::ProcessGroup* tp)
    : cfg_(std::move(cfg)), dp_(dp), tp_(tp) {
  PARTI_ASSERT(dp.size() == cfg_.layout.dp, "dp group of ", dp.size(), " for --dp ",
               cfg_.layout.dp);
  PARTI_ASSERT(tp_size() == cfg_.layout.tp, "tp group of ", tp_size(), " for --tp ",
               cfg_.layout.tp);
  train_ = data::read_token_file(cfg_.data.dir + "/train.bin");
  val_ = data::read_token_file(cfg_.data.dir + "/val.bin");
  PARTI_CHECK(train_.vocab_size <= cfg_.model.vocab, ConfigError, "--vocab ", cfg_.model.vocab,
              " is smaller than the data's vocabulary of ", train_.vocab_size, " (", cfg_.data.dir,
              "/train.bin)");
  const model::TpRank tp_rank{tp_ == nullptr ? 0 : tp_->rank(), tp_size()};
  if (tp_size() > 1) {
    tp_counted_ = std::make_unique<dist::CountingGroup>(*tp_);
  }
  gpt_ = std::make_unique<model::Gpt<float>>(cfg_.model, tp_rank);
  parallel_ = std::make_unique<parallel::DataParallel>(
      *gpt_, dp, cfg_.layout.zero, static_cast<size_t>(cfg_.layout.bucket_mb * 1024 * 1024),
      cfg_.optim.adamw, tp_counted_.get(), cfg_.layout.sp);
  sampler_ = std::make_unique<data::Sampler>(train_, cfg_.model.seq_len, cfg_.data.global_batch,
                                             cfg_.data.seed);
  record_ = std::make_unique<model::ActivationRecord<float>>(gpt_->table().modules());
  const size_t rows = static_cast<size_t>(cfg_.data.micro_batch);
  inputs_.resize(rows * static_cast<size_t>(cfg_.model.seq_len));
  targets_.resize(inputs_.size());
  if (cfg_.io.resume) {
    const std::string dir = io::resolve_checkpoint(cfg_.io.ckpt_dir);
    const nlohmann::json state = io::read_checkpoint_state(dir);
    check_same_model(cfg_.model, model_from_json(state.at("config").at("model")), dir);
    parallel_->load(dir, state.at("optimizer_step").get<int>());
    step_ = state.at("step").get<int64_t>();
  } else {
    parallel_->init(cfg_.data.seed);
  }
  if (!cfg_.io.log.empty() && is_logger()) {
    log_ = io::MetricsLog(cfg_.io.log);
  }
  peak_gflops_ = core::measure_sgemm_gflops(2048, 2048, 2048, 3);
}

Trainer::~Trainer() = default;

StepStats Trainer::step() {
  if (dp_.rank() == cfg_.fault_hang_rank && step_ + 1 == cfg_.fault_hang_step) {
    std::this_thread::sleep_for(std::chrono::hours(1));  // a stuck rank (testing aid)
  }
  auto t0 = std::chrono::steady_clock::now();
  if (tp_counted_) {
    tp_counted_->clear();
  }
  parallel_->begin_step();
  const int B = cfg_.data.micro_batch;
  const int T = cfg_.model.seq_len;
  const double tokens = static_cast<double>(cfg_.data.global_batch) * T;
  const auto dloss = static_cast<float>(1.0 / tokens);
  double loss_sum = 0.0;
  const int dp = dp_.size();
  for (int micro = 0; micro < cfg_.accumulation(); ++micro) {
    sampler_->fill(step_, (micro * dp + dp_.rank()) * B, B, inputs_.data(), targets_.data());
    record_->tokens = inputs_.data();
    record_->targets = targets_.data();
    model::Pass<float> pass =
        parallel_->pass(B, T, arena_, *record_, micro == cfg_.accumulation() - 1);
    pass.workspace = &workspace_;
    pass.recompute = cfg_.recompute_mode();
    loss_sum += gpt_->forward(pass);
    gpt_->backward(pass, dloss);
    parallel_->end_micro();
    arena_.reset();
  }
  if (dp > 1 && !(dp_.rank() == cfg_.fault_skip_rank && step_ + 1 == cfg_.fault_skip_step)) {
    dp_.all_reduce(&loss_sum, 1, dist::ReduceOp::sum);
  }
  const double norm = parallel_->clip(cfg_.optim.grad_clip);
  const double lr = cfg_.schedule().at(static_cast<int>(step_));
  parallel_->update(lr);
  comm_bytes_ = parallel_->comm_bytes();
  tp_comm_ms_ = tp_counted_ ? tp_counted_->seconds() * 1e3 : 0.0;
  if (dp > 1) {
    comm_bytes_ += static_cast<int64_t>(2.0 * (dp - 1) / dp * sizeof(double));  // the loss sum
  }
  ++step_;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tokens_per_s = tokens / seconds;
  // Against every rank's ceiling: each rank measured its own (with its own threads) at start.
  const double mfu = model::flops_per_token(cfg_.model, T) * tokens_per_s /
                     (peak_gflops_ * 1e9 * static_cast<double>(dp * tp_size()));
  return {step_, loss_sum / tokens, lr, norm, seconds * 1e3, tokens_per_s, mfu};
}

double Trainer::evaluate() {
  // Each dp rank evaluates its share of the micro-batches of windows; the sums are all-reduced.
  // Under ZeRO-3 every forward gathers parameters with the whole group, so every rank runs the
  // same number of forwards: one past the last batch evaluates batch 0 again and counts nothing.
  const int B = cfg_.data.micro_batch;
  const int64_t windows = data::window_count(val_, cfg_.model.seq_len);
  const int64_t batches = std::min<int64_t>(cfg_.data.eval_batches, (windows + B - 1) / B);
  const int dp = dp_.size();
  const parallel::DataParallel::Forward forward = parallel_->forward_only();
  double sums[2] = {0.0, 0.0};  // loss sum, tokens
  for (int64_t round = 0; round * dp < batches; ++round) {
    const int64_t b = round * dp + dp_.rank();
    if (b >= batches && forward.hooks == nullptr) {
      break;
    }
    const EvalResult r =
        evaluate_windows(*gpt_, forward.params, arena_, val_, B, B, (b < batches ? b : 0) * B,
                         forward.hooks, forward.tp, forward.sp, &workspace_);
    if (b < batches) {
      sums[0] += r.loss_sum;
      sums[1] += static_cast<double>(r.tokens);
    }
    parallel_->end_micro();
  }
  if (dp > 1) {
    dp_.all_reduce(sums, 2, dist::ReduceOp::sum);
  }
  return sums[1] > 0 ? sums[0] / sums[1] : 0.0;
}

Trainer::Memory Trainer::memory() const {
  const parallel::DataParallel::Memory m = parallel_->memory();
  return {m.params,
          m.grads,
          m.optim,
          arena_.peak_bytes(),
          m.gathered,
          m.staged,
          workspace_.peak_bytes()};
}

std::string Trainer::save() {
  nlohmann::json state;
  state["config"] = to_json(cfg_);
  state["optimizer_step"] = parallel_->optimizer_step();
  state["data_position"] = {{"next_step", step_}, {"seed", cfg_.data.seed}};
  return parallel_->save(cfg_.io.ckpt_dir, step_, state);
}

void Trainer::run(std::ostream& all_out) {
  // Rank 0 prints and logs; the other ranks compute in silence.
  std::ostringstream discard;
  std::ostream& out = is_logger() ? all_out : discard;
  const nlohmann::ordered_json resolved = to_json(cfg_);
  out << "configuration:\n";
  for (const auto& [key, value] : resolved.items()) {
    out << fmt::format("  {:<14} {}\n", key, value.dump());
  }
  out << "compute: " << core::describe_compute()
      << fmt::format(", sgemm ceiling {:.1f} GFLOP/s per rank\n", peak_gflops_);
  if (!cfg_.io.ckpt_dir.empty() && is_logger()) {
    std::filesystem::create_directories(cfg_.io.ckpt_dir);
    std::ofstream(cfg_.io.ckpt_dir + "/config.json") << resolved.dump(2) << "\n";
  }
  if (step_ > 0) {
    out << "resumed at step " << step_ << " from " << cfg_.io.ckpt_dir << "\n";
  }
  const int64_t last =
      cfg_.stop_after > 0 ? std::min<int64_t>(cfg_.steps, step_ + cfg_.stop_after) : cfg_.steps;
  while (step_ < last) {
    StepStats s = step();
    nlohmann::ordered_json record = {{"step", s.step},       {"loss", s.loss},
                                     {"lr", s.lr},           {"grad_norm", s.grad_norm},
                                     {"step_ms", s.step_ms}, {"tokens_per_s", s.tokens_per_s},
                                     {"mfu", s.mfu}};
    const Memory mem = memory();
    record["mem_params"] = mem.params;
    record["mem_grads"] = mem.grads;
    record["mem_optim"] = mem.optim;
    record["mem_activations"] = mem.activations;
    record["mem_gathered"] = mem.gathered;
    record["mem_staged"] = mem.staged;
    record["mem_workspace"] = mem.workspace;
    record["comm_bytes"] = comm_bytes_;
    if (tp_size() > 1) {
      record["tp_comm_ms"] = tp_comm_ms_;
    }
    if (dp_.size() > 1 && parallel_->stage() <= 1) {
      size_t early = 0;
      for (const auto& b : parallel_->reducer().buckets()) {
        early += b.done_in_backward ? 1 : 0;
      }
      record["buckets"] = parallel_->reducer().buckets().size();
      record["buckets_done_in_backward"] = early;
    }
    std::string line = fmt::format(
        "step {:>5}/{} | loss {:.4f} | lr {:.2e} | norm {:.3f} | {:.1f} ms | {:.0f} tok/s | "
        "MFU {:.1f}%",
        s.step, cfg_.steps, s.loss, s.lr, s.grad_norm, s.step_ms, s.tokens_per_s, 100 * s.mfu);
    const bool eval_now =
        cfg_.data.eval_batches > 0 &&
        ((cfg_.data.eval_every > 0 && s.step % cfg_.data.eval_every == 0) || s.step == cfg_.steps);
    if (eval_now) {
      const double val = evaluate();
      record["val_loss"] = val;
      line += fmt::format(" | val {:.4f}", val);
    }
    out << line << std::endl;
    log_.write(record);
    const bool ckpt_now =
        !cfg_.io.ckpt_dir.empty() &&
        ((cfg_.io.ckpt_every > 0 && s.step % cfg_.io.ckpt_every == 0) || s.step == last);
    if (ckpt_now) {
      // Every rank writes its own slices of the one logical checkpoint.
      const std::string dir = save();
      out << "checkpoint: " << dir << std::endl;
    }
  }
}

}  // namespace parti::train
