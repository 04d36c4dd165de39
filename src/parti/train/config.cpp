#include "parti/train/config.h"

#include <algorithm>

#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"
#include "parti/parallel/pipeline/stage.h"

namespace parti::train {

std::vector<std::string> validate(const TrainConfig& cfg) {
  std::vector<std::string> errors = model::validate(cfg.model);
  const DataConfig& d = cfg.data;
  if (d.micro_batch <= 0) {
    errors.push_back(str_cat("--micro-batch must be positive, got ", d.micro_batch));
  } else if (d.global_batch <= 0 || d.global_batch % d.micro_batch != 0) {
    errors.push_back(str_cat("--micro-batch ", d.micro_batch, " does not divide --global-batch ",
                             d.global_batch));
  } else if (cfg.layout.dp > 0 && d.global_batch % (d.micro_batch * cfg.layout.dp) != 0) {
    errors.push_back(str_cat("--global-batch ", d.global_batch,
                             " is not a multiple of --micro-batch ", d.micro_batch, " x --dp ",
                             cfg.layout.dp));
  }
  const LayoutConfig& l = cfg.layout;
  if (l.dp < 1 || l.tp < 1 || l.pp < 1 || l.cp < 1) {
    errors.push_back("--dp, --tp, --pp and --cp must be at least 1");
  }
  if (l.bucket_mb <= 0) {
    errors.push_back(str_cat("--bucket-mb must be positive, got ", l.bucket_mb));
  }
  if (l.tp > 1 && cfg.model.heads > 0 && cfg.model.heads % l.tp != 0) {
    errors.push_back(str_cat("--tp ", l.tp, " does not divide --heads ", cfg.model.heads,
                             " (tensor parallelism splits the heads)"));
  }
  if (l.tp > 1 && cfg.model.vocab > 0 && cfg.model.padded_vocab() % l.tp != 0) {
    errors.push_back(str_cat("--tp ", l.tp, " does not divide the padded vocabulary of ",
                             cfg.model.padded_vocab(), " rows (a multiple of ",
                             model::kVocabMultiple, ")"));
  }
  if (l.sp && l.tp < 2) {
    errors.push_back("--sp needs --tp of at least 2 (it splits the tokens over the tp group)");
  }
  if (l.sp && l.tp > 1 && l.cp == 1 && cfg.model.seq_len > 0 && cfg.model.seq_len % l.tp != 0) {
    errors.push_back(str_cat("--tp ", l.tp, " does not divide --seq-len ", cfg.model.seq_len,
                             " (--sp splits the sequence over tp)"));
  }
  if (l.sp && l.tp > 1 && l.cp > 1 && cfg.model.seq_len > 0 &&
      cfg.model.seq_len % (l.tp * l.cp) != 0) {
    errors.push_back(str_cat("--tp ", l.tp, " does not divide the ", cfg.model.seq_len / l.cp,
                             " tokens of a sequence each cp rank holds (--seq-len ",
                             cfg.model.seq_len, " / --cp ", l.cp, "; --sp splits them over tp)"));
  }
  if (l.cp > 1 && cfg.model.seq_len > 0 && cfg.model.seq_len % (2 * l.cp) != 0) {
    errors.push_back(
        str_cat("--seq-len ", cfg.model.seq_len, " is not a multiple of 2 x --cp ", l.cp,
                " (context parallelism cuts each sequence into 2 x cp = ", 2 * l.cp, " chunks)"));
  }
  if (l.schedule != "gpipe" && l.schedule != "1f1b" && l.schedule != "interleaved" &&
      l.schedule != "zb") {
    errors.push_back(
        str_cat("--schedule ", l.schedule, ": expected gpipe, 1f1b, interleaved or zb"));
  } else if (l.pp > 1 && d.micro_batch > 0 && l.dp > 0 && d.global_batch > 0) {
    try {
      const int micro_batches = cfg.accumulation();
      parallel::pipeline::make_schedule(l.schedule, l.pp, std::max(micro_batches, 1),
                                        l.virtual_stages);
    } catch (const ConfigError& e) {
      errors.push_back(e.what());
    }
  }
  if (l.pp == 1 && (!l.pp_layers.empty() || l.virtual_stages != 1)) {
    errors.push_back("--pp-layers and --virtual-stages need --pp of at least 2");
  }
  if (l.pp > 1 && l.virtual_stages >= 1 && cfg.model.layers > 0) {
    try {
      parallel::pipeline::split_layers(cfg.model, l.pp * l.virtual_stages, l.pp_layers);
    } catch (const ConfigError& e) {
      errors.push_back(e.what());
    }
  }
  if (l.pp > 1 && l.zero >= 2) {
    errors.push_back(str_cat("--zero ", l.zero,
                             " with --pp: ZeRO-2/3 reduce-scatter and gather each unit as backward "
                             "reaches it, which a pipeline's interleaved micro-batches do not "
                             "allow; use --zero 0 or 1 (Megatron's choice with pipelines too)"));
  }
  if (l.grad_compress != "none" && l.grad_compress != "bf16" && l.grad_compress != "powersgd") {
    errors.push_back(
        str_cat("--grad-compress ", l.grad_compress, ": expected none, bf16 or powersgd"));
  } else if (l.grad_compress != "none" && l.dp == 1) {
    errors.push_back(str_cat("--grad-compress ", l.grad_compress,
                             " compresses the data-parallel gradient reduction; with --dp 1 "
                             "there is none"));
  } else if (l.grad_compress == "powersgd" && l.zero >= 2) {
    errors.push_back(str_cat("--grad-compress powersgd with --zero ", l.zero,
                             ": PowerSGD's error feedback keeps a full-size gradient residual on "
                             "every rank, the memory ZeRO-2/3 exist to save; use --zero 0 or 1, "
                             "or --grad-compress bf16"));
  }
  if (l.powersgd_rank < 1) {
    errors.push_back(str_cat("--powersgd-rank must be at least 1, got ", l.powersgd_rank));
  }
  if (l.powersgd_start_step < 0) {
    errors.push_back(
        str_cat("--powersgd-start-step must not be negative, got ", l.powersgd_start_step));
  }
  if (l.zero < 0 || l.zero > 3) {
    errors.push_back(str_cat("--zero ", l.zero, ": the ZeRO stage is 0, 1, 2 or 3"));
  }
  if (cfg.steps <= 0) {
    errors.push_back(str_cat("--steps must be positive, got ", cfg.steps));
  }
  if (cfg.recompute != "none" && cfg.recompute != "full" && cfg.recompute != "selective") {
    errors.push_back(str_cat("--recompute ", cfg.recompute, ": expected none, full or selective"));
  }
  if (cfg.stop_after < 0) {
    errors.push_back(str_cat("--stop-after must not be negative, got ", cfg.stop_after));
  }
  if (cfg.optim.lr <= 0 || cfg.optim.min_lr < 0 || cfg.optim.min_lr > cfg.optim.lr) {
    errors.push_back(str_cat("--lr ", cfg.optim.lr, " and --min-lr ", cfg.optim.min_lr,
                             " need 0 <= min-lr <= lr, lr > 0"));
  }
  if (cfg.optim.warmup < 0) {
    errors.push_back(str_cat("--warmup must not be negative, got ", cfg.optim.warmup));
  }
  if (cfg.optim.adamw.weight_decay < 0) {
    errors.push_back(str_cat("--weight-decay must not be negative"));
  }
  if (d.eval_every < 0 || d.eval_batches < 0) {
    errors.push_back("--eval-every and --eval-batches must not be negative");
  }
  if (cfg.io.ckpt_every < 0) {
    errors.push_back("--ckpt-every must not be negative");
  }
  if (cfg.io.resume && cfg.io.ckpt_dir.empty()) {
    errors.push_back("--resume needs --ckpt-dir (the folder to resume from)");
  }
  if (d.dir.empty()) {
    errors.push_back("--data is required (a folder made by `parti prepare`)");
  }
  if (cfg.comm_timeout <= 0) {
    errors.push_back(str_cat("--comm-timeout must be positive, got ", cfg.comm_timeout));
  }
  if (cfg.threads < 1) {
    errors.push_back(str_cat("--threads must be at least 1, got ", cfg.threads));
  }
  return errors;
}

nlohmann::ordered_json model_to_json(const model::ModelConfig& m) {
  return {{"family", m.family},
          {"layers", m.layers},
          {"heads", m.heads},
          {"dim", m.dim},
          {"seq_len", m.seq_len},
          {"vocab", m.vocab},
          {"padded_vocab", m.padded_vocab()}};
}

model::ModelConfig model_from_json(const nlohmann::json& j) {
  try {
    return {j.at("layers").get<int>(),
            j.at("heads").get<int>(),
            j.at("dim").get<int>(),
            j.at("seq_len").get<int>(),
            j.at("vocab").get<int>(),
            j.value("family", std::string("gpt2"))};  // checkpoints before families: GPT-2
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(str_cat("model config in checkpoint: ", e.what()));
  }
}

nlohmann::ordered_json to_json(const TrainConfig& cfg) {
  const auto& o = cfg.optim;
  const auto& d = cfg.data;
  return {{"preset", cfg.preset},
          {"model", model_to_json(cfg.model)},
          {"parameters", model::parameter_count(cfg.model)},
          {"steps", cfg.steps},
          {"global_batch", d.global_batch},
          {"micro_batch", d.micro_batch},
          {"accumulation", cfg.accumulation()},
          {"dp", cfg.layout.dp},
          {"tp", cfg.layout.tp},
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
          {"recompute", cfg.recompute},
          {"lr", o.lr},
          {"min_lr", o.min_lr},
          {"warmup", o.warmup},
          {"weight_decay", o.adamw.weight_decay},
          {"beta1", o.adamw.beta1},
          {"beta2", o.adamw.beta2},
          {"eps", o.adamw.eps},
          {"grad_clip", o.grad_clip},
          {"seed", d.seed},
          {"data", d.dir},
          {"tokenizer", d.tokenizer},
          {"eval_every", d.eval_every},
          {"eval_batches", d.eval_batches},
          {"ckpt_dir", cfg.io.ckpt_dir},
          {"ckpt_every", cfg.io.ckpt_every},
          {"log", cfg.io.log},
          {"trace", cfg.io.trace},
          {"comm_timeout", cfg.comm_timeout},
          {"check_collectives", cfg.check_collectives},
          {"threads", cfg.threads}};
}

model::Recompute TrainConfig::recompute_mode() const {
  if (recompute == "full") {
    return model::Recompute::full;
  }
  return recompute == "selective" ? model::Recompute::selective : model::Recompute::none;
}

}  // namespace parti::train
