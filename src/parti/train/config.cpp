#include "parti/train/config.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "parti/core/check.h"
#include "parti/core/json.h"

namespace parti::train {

std::vector<std::string> validate(const TrainConfig& cfg) {
  std::vector<std::string> errors = model::validate(cfg.model);
  const DataConfig& d = cfg.data;
  for (std::string& e : parallel::batch::validate(d.batch, cfg.layout, cfg.model)) {
    errors.push_back(std::move(e));
  }
  if (cfg.steps <= 0) {
    errors.push_back(str_cat("--steps must be positive, got ", cfg.steps));
  }
  if (cfg.train_tokens < 0 || cfg.warmup_tokens < 0) {
    errors.push_back("--train-tokens and --warmup-tokens must not be negative");
  } else if (cfg.warmup_tokens > 0 && cfg.train_tokens == 0) {
    errors.push_back("--warmup-tokens needs --train-tokens (with --steps, --warmup counts steps)");
  } else if (cfg.train_tokens > 0 && cfg.optim.warmup > 0) {
    errors.push_back("--warmup counts steps; with --train-tokens give --warmup-tokens instead");
  }
  if (cfg.lr_batch_scaling != "none" && cfg.lr_batch_scaling != "linear" &&
      cfg.lr_batch_scaling != "sqrt") {
    errors.push_back(
        str_cat("--lr-batch-scaling ", cfg.lr_batch_scaling, ": expected none, linear or sqrt"));
  }
  if (cfg.stop_after < 0) {
    errors.push_back(str_cat("--stop-after must not be negative, got ", cfg.stop_after));
  }
  // Written so that NaN fails (every comparison with NaN is false), and infinities with it.
  const auto& o = cfg.optim;
  if (!(o.lr > 0 && o.min_lr >= 0 && o.min_lr <= o.lr) || !std::isfinite(o.lr)) {
    errors.push_back(str_cat("--lr ", o.lr, " and --min-lr ", o.min_lr,
                             " need finite numbers with 0 <= min-lr <= lr, lr > 0"));
  }
  if (!(o.grad_clip >= 0) || !std::isfinite(o.grad_clip)) {
    errors.push_back(
        str_cat("--grad-clip must be a finite number >= 0 (0: off), got ", o.grad_clip));
  }
  if (cfg.optim.warmup < 0) {
    errors.push_back(str_cat("--warmup must not be negative, got ", cfg.optim.warmup));
  }
  if (!(o.adamw.weight_decay >= 0) || !std::isfinite(o.adamw.weight_decay)) {
    errors.push_back(
        str_cat("--weight-decay must be a finite number >= 0, got ", o.adamw.weight_decay));
  }
  if (d.eval_every < 0 || d.eval_batches < 0) {
    errors.push_back("--eval-every and --eval-batches must not be negative");
  }
  if (cfg.io.ckpt_every < 0 || cfg.io.keep_last < 0) {
    errors.push_back("--ckpt-every and --keep-last must not be negative");
  }
  if (cfg.io.resume && cfg.io.ckpt_dir.empty()) {
    errors.push_back("--resume needs --ckpt-dir (the folder to resume from)");
  }
  if (d.dir.empty()) {
    errors.push_back("--data is required (a folder made by `parti prepare`)");
  }
  if (!(cfg.comm_timeout > 0) || !std::isfinite(cfg.comm_timeout)) {
    errors.push_back(str_cat("--comm-timeout must be a finite positive number of seconds, got ",
                             cfg.comm_timeout));
  }
  if (cfg.guard.max_skipped < 1) {
    errors.push_back(str_cat("--max-skipped must be at least 1, got ", cfg.guard.max_skipped));
  }
  if (!(cfg.guard.skip_spikes >= 0) || !std::isfinite(cfg.guard.skip_spikes)) {
    errors.push_back(str_cat("--skip-spikes must be a finite number >= 0 (0: off), got ",
                             cfg.guard.skip_spikes));
  }
  if (!(cfg.time_limit_min >= 0) || !std::isfinite(cfg.time_limit_min)) {
    errors.push_back(str_cat("--time-limit must be a finite number of minutes >= 0 (0: none), got ",
                             cfg.time_limit_min));
  }
  if (cfg.threads < 1) {
    errors.push_back(str_cat("--threads must be at least 1, got ", cfg.threads));
  }
  return errors;
}

nlohmann::ordered_json model_to_json(const model::ModelConfig& m) {
  nlohmann::ordered_json j = {{"family", m.family},
                              {"layers", m.layers},
                              {"heads", m.heads},
                              {"dim", m.dim},
                              {"seq_len", m.seq_len},
                              {"vocab", m.vocab},
                              {"padded_vocab", m.padded_vocab()}};
  if (m.family != "gpt2") {
    j["kv_heads"] = m.key_value_heads();
    j["ffn_dim"] = m.hidden();
    j["rope_theta"] = m.rope_theta;
    j["norm_eps"] = m.norm_eps;
    j["tie_embeddings"] = m.tie_embeddings;
  }
  return j;
}

model::ModelConfig model_from_json(const nlohmann::json& j) {
  // Each field read by name, so that a wrong type names the field.
  const auto field = [&]<typename T>(const char* name, T fallback, bool required) -> T {
    try {
      if (!j.contains(name)) {
        PARTI_CHECK(!required, CheckpointError, "model config: field ", name, " is missing");
        return fallback;
      }
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        return json_int<T>(j.at(name));
      } else {
        return j.at(name).get<T>();
      }
    } catch (const nlohmann::json::exception& e) {
      throw CheckpointError(str_cat("model config: field ", name, ": ", e.what()));
    }
  };
  PARTI_CHECK(j.is_object(), CheckpointError, "model config: an object expected, got ", j.dump());
  model::ModelConfig m{field("layers", 0, true),
                       field("heads", 0, true),
                       field("dim", 0, true),
                       field("seq_len", 0, true),
                       field("vocab", 0, true),
                       field("family", std::string("gpt2"), false)};  // before families: GPT-2
  m.kv_heads = field("kv_heads", 0, false);
  m.ffn_dim = field("ffn_dim", 0, false);
  m.rope_theta = field("rope_theta", m.rope_theta, false);
  m.norm_eps = field("norm_eps", m.norm_eps, false);
  m.tie_embeddings = field("tie_embeddings", true, false);
  return m;
}

nlohmann::ordered_json to_json(const TrainConfig& cfg) {
  const auto& o = cfg.optim;
  const auto& d = cfg.data;
  return {{"preset", cfg.preset},
          {"model", model_to_json(cfg.model)},
          {"parameters", model::parameter_count(cfg.model)},
          {"steps", cfg.steps},
          {"global_batch", d.batch.global_batch},
          {"batch_ramp",
           d.batch.ramps() ? nlohmann::ordered_json::array(
                                 {d.batch.ramp_start, d.batch.ramp_increment, d.batch.ramp_samples})
                           : nlohmann::ordered_json()},
          {"adaptive_batch", d.batch.adaptive
                                 ? nlohmann::ordered_json::array(
                                       {d.batch.min_batch, d.batch.max_batch, d.batch.quantum})
                                 : nlohmann::ordered_json()},
          {"train_tokens", cfg.train_tokens},
          {"warmup_tokens", cfg.warmup_tokens},
          {"lr_batch_scaling", cfg.lr_batch_scaling},
          {"micro_batch", cfg.layout.micro_batch},
          {"accumulation", cfg.accumulation()},
          {"dp", cfg.layout.dp},
          {"tp", cfg.layout.tp},
          {"tp_mode", cfg.layout.tp_mode},
          {"sp", cfg.layout.sp},
          {"pp", cfg.layout.pp},
          {"pp_layers", cfg.layout.pp_layers},
          {"schedule", cfg.layout.schedule},
          {"virtual_stages", cfg.layout.virtual_stages},
          {"cp", cfg.layout.cp},
          {"zero", cfg.layout.zero},
          {"bucket_mb", cfg.layout.bucket_mb},
          {"grad_compress", cfg.layout.grad_compress},
          {"powersgd_rank", cfg.layout.powersgd_rank},
          {"powersgd_start_step", cfg.layout.powersgd_start_step},
          {"recompute", cfg.layout.recompute},
          {"lr", o.lr},
          {"min_lr", o.min_lr},
          {"warmup", o.warmup},
          {"weight_decay", o.adamw.weight_decay},
          {"beta1", o.adamw.beta1},
          {"beta2", o.adamw.beta2},
          {"eps", o.adamw.eps},
          {"grad_clip", o.grad_clip},
          {"max_skipped", cfg.guard.max_skipped},
          {"skip_spikes", cfg.guard.skip_spikes},
          {"seed", d.seed},
          {"data", d.dir},
          {"tokenizer", d.tokenizer},
          {"eval_every", d.eval_every},
          {"eval_batches", d.eval_batches},
          {"ckpt_dir", cfg.io.ckpt_dir},
          {"ckpt_every", cfg.io.ckpt_every},
          {"keep_last", cfg.io.keep_last},
          {"async_save", cfg.io.async_save},
          {"init_from", cfg.io.init_from},
          {"log", cfg.io.log},
          {"trace", cfg.io.trace},
          {"comm_timeout", cfg.comm_timeout},
          {"check_collectives", cfg.check_collectives},
          {"threads", cfg.threads}};
}

}  // namespace parti::train
