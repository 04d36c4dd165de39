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
#include "parti/io/checkpoint.h"
#include "parti/optim/grad_clip.h"
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

Trainer::Trainer(TrainConfig cfg, dist::ProcessGroup& dp)
    : cfg_(std::move(cfg)),
      dp_(dp),
      reducer_(dp, static_cast<size_t>(cfg_.layout.bucket_mb * 1024 * 1024)) {
  PARTI_ASSERT(dp.size() == cfg_.layout.dp, "dp group of ", dp.size(), " for --dp ",
               cfg_.layout.dp);
  train_ = data::read_token_file(cfg_.data.dir + "/train.bin");
  val_ = data::read_token_file(cfg_.data.dir + "/val.bin");
  PARTI_CHECK(train_.vocab_size <= cfg_.model.vocab, ConfigError, "--vocab ", cfg_.model.vocab,
              " is smaller than the data's vocabulary of ", train_.vocab_size, " (", cfg_.data.dir,
              "/train.bin)");
  gpt_ = std::make_unique<model::Gpt<float>>(cfg_.model);
  const model::ParamTable& table = gpt_->table();
  const size_t dp_size = static_cast<size_t>(dp.size());
  const size_t padded = (table.total() + dp_size - 1) / dp_size * dp_size;
  params_.assign(sharded() ? padded : table.total(), 0.0f);
  grads_.assign(params_.size(), 0.0f);
  if (sharded()) {
    const size_t shard = padded / dp_size;
    const size_t begin = shard * static_cast<size_t>(dp.rank());
    adamw_ = std::make_unique<optim::AdamW<float>>(table, cfg_.optim.adamw, begin, begin + shard);
  } else {
    adamw_ = std::make_unique<optim::AdamW<float>>(table, cfg_.optim.adamw);
  }
  sampler_ = std::make_unique<data::Sampler>(train_, cfg_.model.seq_len, cfg_.data.global_batch,
                                             cfg_.data.seed);
  record_ = std::make_unique<model::ActivationRecord<float>>(table.modules());
  const size_t rows = static_cast<size_t>(cfg_.data.micro_batch);
  inputs_.resize(rows * static_cast<size_t>(cfg_.model.seq_len));
  targets_.resize(inputs_.size());
  if (cfg_.io.resume) {
    const std::string dir = io::resolve_checkpoint(cfg_.io.ckpt_dir);
    const nlohmann::json state = io::read_checkpoint_state(dir);
    check_same_model(cfg_.model, model_from_json(state.at("config").at("model")), dir);
    std::vector<float> m(params_.size(), 0.0f), v(params_.size(), 0.0f);
    io::load_checkpoint(dir, {table, params_.data(), m.data(), v.data()});
    std::copy(m.begin() + static_cast<std::ptrdiff_t>(adamw_->begin()),
              m.begin() + static_cast<std::ptrdiff_t>(adamw_->end()), adamw_->m().begin());
    std::copy(v.begin() + static_cast<std::ptrdiff_t>(adamw_->begin()),
              v.begin() + static_cast<std::ptrdiff_t>(adamw_->end()), adamw_->v().begin());
    step_ = state.at("step").get<int64_t>();
    adamw_->set_step(state.at("optimizer_step").get<int>());
  } else {
    table.init_values<float>(params_.data(), cfg_.data.seed, cfg_.model.layers);
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
  const model::ParamTable& table = gpt_->table();
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  const int B = cfg_.data.micro_batch;
  const int T = cfg_.model.seq_len;
  const double tokens = static_cast<double>(cfg_.data.global_batch) * T;
  const auto dloss = static_cast<float>(1.0 / tokens);
  double loss_sum = 0.0;
  const int dp = dp_.size();
  const std::function<void(size_t, size_t)> on_grads_ready = [this](size_t begin, size_t end) {
    reducer_.ready(begin, end);
  };
  for (int micro = 0; micro < cfg_.accumulation(); ++micro) {
    sampler_->fill(step_, (micro * dp + dp_.rank()) * B, B, inputs_.data(), targets_.data());
    record_->tokens = inputs_.data();
    record_->targets = targets_.data();
    model::Pass<float> pass{B, T, table, params_.data(), grads_.data(), arena_, *record_};
    const bool reduce = dp > 1 && micro == cfg_.accumulation() - 1;
    if (reduce) {
      reducer_.begin(grads_.data());
      pass.grads_ready = &on_grads_ready;
    }
    loss_sum += gpt_->forward(pass);
    gpt_->backward(pass, dloss);
    if (reduce) {
      reducer_.finish();
    }
    arena_.reset();
  }
  // Bytes sent per rank, ring algorithms (nccl-tests' bus convention): all-reduce of n bytes
  // 2 (P-1)/P n, all-gather of n bytes in all (P-1)/P n.
  const double ring = dp > 1 ? static_cast<double>(dp - 1) / dp : 0.0;
  const double grad_bytes = static_cast<double>(grads_.size() * sizeof(float));
  comm_bytes_ = 0;
  if (dp > 1) {
    if (!(dp_.rank() == cfg_.fault_skip_rank && step_ + 1 == cfg_.fault_skip_step)) {
      dp_.all_reduce(&loss_sum, 1, dist::ReduceOp::sum);
    }
    comm_bytes_ += static_cast<int64_t>(2 * ring * grad_bytes + 2 * ring * sizeof(double));
  }
  const double norm = optim::clip_grad_norm<float>(table, grads_.data(), cfg_.optim.grad_clip);
  const double lr = cfg_.schedule().at(static_cast<int>(step_));
  adamw_->update(params_.data(), grads_.data(), lr);
  if (sharded()) {
    // Every rank's shard of updated parameters back into every replica.
    float* shard = params_.data() + adamw_->begin();
    dp_.all_gather(shard, params_.data(), adamw_->end() - adamw_->begin());
    comm_bytes_ += static_cast<int64_t>(ring * grad_bytes);
  }
  ++step_;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tokens_per_s = tokens / seconds;
  // Against every rank's ceiling: each rank measured its own (with its own threads) at start.
  const double mfu = model::flops_per_token(cfg_.model, T) * tokens_per_s /
                     (peak_gflops_ * 1e9 * static_cast<double>(dp));
  return {step_, loss_sum / tokens, lr, norm, seconds * 1e3, tokens_per_s, mfu};
}

double Trainer::evaluate() {
  // Each dp rank evaluates its share of the micro-batches of windows; the sums are all-reduced.
  const int B = cfg_.data.micro_batch;
  const int64_t batches = cfg_.data.eval_batches;
  double sums[2] = {0.0, 0.0};  // loss sum, tokens
  for (int64_t b = dp_.rank(); b < batches; b += dp_.size()) {
    EvalResult r = evaluate_windows(*gpt_, params_.data(), arena_, val_, B, B, b * B);
    sums[0] += r.loss_sum;
    sums[1] += static_cast<double>(r.tokens);
  }
  if (dp_.size() > 1) {
    dp_.all_reduce(sums, 2, dist::ReduceOp::sum);
  }
  return sums[1] > 0 ? sums[0] / sums[1] : 0.0;
}

void Trainer::gather_moments(std::vector<float>& m, std::vector<float>& v) {
  m.resize(params_.size());
  v.resize(params_.size());
  const size_t shard = adamw_->end() - adamw_->begin();
  dp_.all_gather(adamw_->m().data(), m.data(), shard);
  dp_.all_gather(adamw_->v().data(), v.data(), shard);
}

Trainer::Memory Trainer::memory() const {
  return {params_.size() * sizeof(float), grads_.size() * sizeof(float),
          (adamw_->end() - adamw_->begin()) * 2 * sizeof(float), arena_.peak_bytes()};
}

std::string Trainer::save() {
  nlohmann::json state;
  state["config"] = to_json(cfg_);
  state["optimizer_step"] = adamw_->step();
  state["data_position"] = {{"next_step", step_}, {"seed", cfg_.data.seed}};
  std::vector<float> m_full, v_full;
  float* m = adamw_->m().data();
  float* v = adamw_->v().data();
  if (sharded()) {
    // TODO(#3): each rank writes its own slices instead of gathering the moments on every rank.
    gather_moments(m_full, v_full);
    m = m_full.data();
    v = v_full.data();
  }
  if (!is_logger()) {
    return "";
  }
  return io::save_checkpoint(cfg_.io.ckpt_dir, step_, {gpt_->table(), params_.data(), m, v}, state);
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
    record["comm_bytes"] = comm_bytes_;
    if (dp_.size() > 1) {
      size_t early = 0;
      for (const auto& b : reducer_.buckets()) {
        early += b.done_in_backward ? 1 : 0;
      }
      record["buckets"] = reducer_.buckets().size();
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
      // The dp replicas are identical: rank 0 writes the logical checkpoint (every rank takes
      // part in gathering sharded moments).
      const std::string dir = save();
      out << "checkpoint: " << dir << std::endl;
    }
  }
}

}  // namespace parti::train
