// parti eval --ckpt PATH --tokens FILE.bin [--max-windows N] [--micro-batch B]
// Mean loss over consecutive non-overlapping windows of seq-len + 1 tokens from the start of the
// file; the last line is {"loss": .., "perplexity": .., "tokens": ..}.
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/data/token_split.h"
#include "parti/train/evaluate.h"

namespace parti::cli {
namespace {

struct EvalArgs {
  std::string ckpt;
  std::string tokens;
  int64_t max_windows = 0;
  int micro_batch = 4;
};

void run_eval(const EvalArgs& a) {
  PARTI_CHECK(a.micro_batch > 0, ConfigError, "--micro-batch must be positive");
  LoadedModel m = load_model(a.ckpt);
  const data::TokenSplit file = data::TokenSplit::open_file(a.tokens);
  PARTI_CHECK(file.vocab_size() <= m.model->config().vocab, DataError, a.tokens, ": vocabulary of ",
              file.vocab_size(), " exceeds the model's ", m.model->config().vocab);
  core::Arena arena;
  train::EvalResult r =
      train::evaluate_windows(*m.model, m.params.data(), arena, file, a.max_windows, a.micro_batch);
  std::cout << "evaluated " << m.dir << " on " << r.windows << " windows of " << a.tokens << "\n"
            << nlohmann::json(
                   {{"loss", r.loss}, {"perplexity", std::exp(r.loss)}, {"tokens", r.tokens}})
                   .dump()
            << "\n";
}

}  // namespace

void add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "loss of a checkpoint on a token file");
  cmd->add_option("--ckpt", args->ckpt, "checkpoint step folder or checkpoint folder")->required();
  cmd->add_option("--tokens", args->tokens, "token file (.bin)")->required();
  cmd->add_option("--max-windows", args->max_windows, "at most so many windows (0: all)")
      ->capture_default_str();
  cmd->add_option("--micro-batch", args->micro_batch, "windows per forward")->capture_default_str();
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace parti::cli
