#include "parti/parallel/layout.h"

#include <algorithm>
#include <cmath>

#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"
#include "parti/parallel/pipeline/stage.h"

namespace parti::parallel {
namespace {

// The batch: micro-batches of whole sequences on every dp rank.
void check_batch(const Layout& l, int global_batch, std::vector<std::string>& errors) {
  if (l.micro_batch <= 0) {
    errors.push_back(str_cat("--micro-batch must be positive, got ", l.micro_batch));
  } else if (global_batch <= 0 || global_batch % l.micro_batch != 0) {
    errors.push_back(
        str_cat("--micro-batch ", l.micro_batch, " does not divide --global-batch ", global_batch));
  } else if (l.dp > 0 && global_batch % (l.micro_batch * l.dp) != 0) {
    errors.push_back(str_cat("--global-batch ", global_batch,
                             " is not a multiple of --micro-batch ", l.micro_batch, " x --dp ",
                             l.dp));
  }
}

// "--tp 9 as a 3 x 3 grid", "--tp 8 as 2 grids of 2 x 2".
std::string grid_words(const Layout& l) {
  const int q = l.grid();
  return l.tp_mode == "2.5d" ? str_cat("--tp ", l.tp, " as ", l.tp_depth, " grids of ", q, " x ", q)
                             : str_cat("--tp ", l.tp, " as a ", q, " x ", q, " grid");
}

// Block partitioning: tp a grid (2.5D: tp_depth of them), and what the grid's side must divide.
void check_grid(const Layout& l, const model::ModelConfig& m, std::vector<std::string>& errors) {
  if (l.tp_mode == "1d") {
    if (l.tp_depth != 1) {
      errors.push_back(str_cat("--tp-depth ", l.tp_depth, " needs --tp-mode 2.5d"));
    }
    return;
  }
  if (l.tp_mode != "2d" && l.tp_mode != "2.5d") {
    errors.push_back(str_cat("--tp-mode ", l.tp_mode, ": expected 1d, 2d or 2.5d"));
    return;
  }
  const int q = l.grid();
  const int d = l.tp_mode == "2.5d" ? l.tp_depth : 1;
  if (l.tp_mode == "2d" && l.tp_depth != 1) {
    errors.push_back(str_cat("--tp-depth ", l.tp_depth, " needs --tp-mode 2.5d"));
  }
  if (l.tp_mode == "2.5d" && d < 2) {
    errors.push_back(str_cat("--tp-mode 2.5d needs --tp-depth of at least 2, got ", l.tp_depth,
                             " (depth 1 is --tp-mode 2d)"));
    return;
  }
  if (q < 2) {
    errors.push_back(
        l.tp_mode == "2d"
            ? str_cat("--tp-mode 2d needs --tp a square of at least 4 (a q x q grid), got ", l.tp)
            : str_cat("--tp-mode 2.5d needs --tp = --tp-depth x q x q with q of at least 2, got ",
                      "--tp ", l.tp, " and --tp-depth ", d));
    return;
  }
  const std::string grid = grid_words(l) + ": ";
  if (m.dim > 0 && m.dim % q != 0) {
    errors.push_back(
        str_cat(grid, q, " does not divide --dim ", m.dim, " (the grid cuts the width)"));
  }
  if (l.micro_batch > 0 && l.micro_batch % (q * d) != 0) {
    errors.push_back(str_cat(grid, q * d, " does not divide --micro-batch ", l.micro_batch,
                             " (the grid's rows", d > 1 ? " and depth" : "",
                             " split the samples)"));
  }
  if (l.sp) {
    errors.push_back(str_cat("--sp with --tp-mode ", l.tp_mode,
                             ": the grid already splits the tokens between sublayers"));
  }
  if (l.schedule == "zb" && l.pp > 1) {
    errors.push_back(str_cat("--schedule zb with --tp-mode ", l.tp_mode,
                             ": SUMMA's weight gradients are not deferred"));
  }
}

// Tensor, sequence and context parallelism: what they split must divide.
void check_splits(const Layout& l, const model::ModelConfig& m, std::vector<std::string>& errors) {
  // tp, or the grid's side (1 when the grid itself is wrong: check_grid says why).
  const int f = l.tp_mode != "1d" && l.grid() < 2 ? 1 : l.feature_parts();
  const std::string by = l.grid() > 1 ? str_cat(grid_words(l), ": ", f) : str_cat("--tp ", f);
  if (f > 1 && m.heads > 0 && m.heads % f != 0) {
    errors.push_back(str_cat(by, " does not divide --heads ", m.heads,
                             " (tensor parallelism splits the heads)"));
  }
  if (f > 1 && m.kv_heads > 0 && m.kv_heads % f != 0) {
    errors.push_back(str_cat(by, " does not divide --kv-heads ", m.kv_heads,
                             " (tensor parallelism splits the key/value heads too)"));
  }
  if (f > 1 && m.family != "gpt2" && m.hidden() % f != 0) {
    errors.push_back(str_cat(by, " does not divide --ffn-dim ", m.hidden(),
                             " (tensor parallelism splits the MLP's hidden units)"));
  }
  if (f > 1 && m.vocab > 0 && m.padded_vocab() % f != 0) {
    errors.push_back(str_cat(by, " does not divide the padded vocabulary of ", m.padded_vocab(),
                             " rows (a multiple of ", model::kVocabMultiple, ")"));
  }
  check_grid(l, m, errors);
  if (l.sp && l.tp < 2) {
    errors.push_back("--sp needs --tp of at least 2 (it splits the tokens over the tp group)");
  }
  if (l.sp && l.tp > 1 && l.cp == 1 && m.seq_len > 0 && m.seq_len % l.tp != 0) {
    errors.push_back(str_cat("--tp ", l.tp, " does not divide --seq-len ", m.seq_len,
                             " (--sp splits the sequence over tp)"));
  }
  if (l.sp && l.tp > 1 && l.cp > 1 && m.seq_len > 0 && m.seq_len % (l.tp * l.cp) != 0) {
    errors.push_back(str_cat("--tp ", l.tp, " does not divide the ", m.seq_len / l.cp,
                             " tokens of a sequence each cp rank holds (--seq-len ", m.seq_len,
                             " / --cp ", l.cp, "; --sp splits them over tp)"));
  }
  if (l.cp > 1 && m.seq_len > 0 && m.seq_len % (2 * l.cp) != 0) {
    errors.push_back(str_cat("--seq-len ", m.seq_len, " is not a multiple of 2 x --cp ", l.cp,
                             " (context parallelism cuts each sequence into 2 x cp = ", 2 * l.cp,
                             " chunks)"));
  }
}

// The pipeline: a schedule that exists for these sizes, and chunks with a block each.
void check_pipeline(const Layout& l, const model::ModelConfig& m, int global_batch,
                    std::vector<std::string>& errors) {
  if (l.pp == 1) {
    if (!l.pp_layers.empty() || l.virtual_stages != 1) {
      errors.push_back("--pp-layers and --virtual-stages need --pp of at least 2");
    }
    if (l.schedule != "gpipe" && l.schedule != "1f1b" && l.schedule != "interleaved" &&
        l.schedule != "zb") {
      errors.push_back(
          str_cat("--schedule ", l.schedule, ": expected gpipe, 1f1b, interleaved or zb"));
    }
    return;
  }
  const int M = l.micro_batch > 0 && l.dp > 0 ? l.micro_batches(global_batch) : 1;
  const std::string schedule =
      pipeline::schedule_error(l.schedule, l.pp, std::max(M, 1), l.virtual_stages);
  if (!schedule.empty()) {
    errors.push_back(schedule);
  }
  if (l.virtual_stages >= 1 && m.layers > 0) {
    const std::string split = pipeline::split_error(m.layers, l.pp * l.virtual_stages, l.pp_layers);
    if (!split.empty()) {
      errors.push_back(split);
    }
  }
}

// The data-parallel reduction: ZeRO's level and how a bucket is summed.
void check_reduction(const Layout& l, std::vector<std::string>& errors) {
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
}

}  // namespace

int Layout::grid() const {
  const int d = tp_mode == "2.5d" ? tp_depth : 1;
  if ((tp_mode != "2d" && tp_mode != "2.5d") || d < 1 || tp % d != 0) {
    return 1;
  }
  const int q = static_cast<int>(std::lround(std::sqrt(static_cast<double>(tp / d))));
  return q * q * d == tp ? q : 1;
}

Layout Layout::grid_equivalent() const {
  Layout l = *this;
  if (tp_mode == "2.5d" && grid() > 1) {
    l.tp = tp / tp_depth;
    l.dp = dp * tp_depth;
    l.micro_batch = micro_batch / tp_depth;
    l.tp_mode = "2d";
    l.tp_depth = 1;
  }
  return l;
}

model::Recompute Layout::recompute_mode() const {
  if (recompute == "full") {
    return model::Recompute::full;
  }
  return recompute == "selective" ? model::Recompute::selective : model::Recompute::none;
}

std::vector<std::string> validate(const Layout& l, const model::ModelConfig& m, int global_batch) {
  std::vector<std::string> errors;
  check_batch(l, global_batch, errors);
  if (l.dp < 1 || l.tp < 1 || l.pp < 1 || l.cp < 1) {
    errors.push_back("--dp, --tp, --pp and --cp must be at least 1");
    return errors;
  }
  if (!(l.bucket_mb > 0) || !std::isfinite(l.bucket_mb)) {  // NaN fails both
    errors.push_back(str_cat("--bucket-mb must be a finite positive number, got ", l.bucket_mb));
  }
  check_splits(l, m, errors);
  check_pipeline(l, m, global_batch, errors);
  check_reduction(l, errors);
  if (l.recompute != "none" && l.recompute != "full" && l.recompute != "selective") {
    errors.push_back(str_cat("--recompute ", l.recompute, ": expected none, full or selective"));
  }
  return errors;
}

}  // namespace parti::parallel
