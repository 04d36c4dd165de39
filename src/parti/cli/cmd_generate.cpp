// parti generate --ckpt PATH --prompt TEXT --max-tokens N [--temperature --top-k --seed]
#include <cmath>
#include <iostream>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/data/utf8.h"
#include "parti/train/generate.h"

namespace parti::cli {
namespace {

struct GenerateArgs {
  std::string ckpt;
  std::string prompt;
  std::string tokenizer_dir;
  train::SampleOptions sample;
};

void run_generate(const GenerateArgs& a) {
  PARTI_CHECK(a.sample.temperature >= 0 && std::isfinite(a.sample.temperature), ConfigError,
              "--temperature must be a finite number >= 0 (0: greedy), got ", a.sample.temperature);
  LoadedModel m = load_model(a.ckpt);
  auto tokenizer = data::make_tokenizer(m.tokenizer, a.tokenizer_dir);
  train::SampleOptions options = a.sample;
  options.stop_token = tokenizer->eot();
  core::Arena arena;
  // The prompt starts a document as training saw them: after the begin token when there is one.
  std::vector<int32_t> prompt = tokenizer->encode(a.prompt);
  if (tokenizer->bos() >= 0) {
    prompt.insert(prompt.begin(), tokenizer->bos());
  }
  std::vector<int32_t> ids = train::generate(*m.model, m.params.data(), arena, prompt, options);
  if (!ids.empty() && ids.back() == tokenizer->eot()) {
    ids.pop_back();
  }
  // Sampled byte tokens can end inside a UTF-8 sequence or combine into invalid ones: print
  // valid UTF-8 (each invalid piece as U+FFFD) so a terminal shows text.
  std::string text;
  for (uint32_t cp : data::utf8_decode(a.prompt + tokenizer->decode(ids))) {
    data::utf8_append(text, cp);
  }
  std::cout << text << std::endl;
}

}  // namespace

void add_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "sample text from a checkpoint");
  cmd->add_option("--ckpt", args->ckpt, "checkpoint step folder or checkpoint folder")->required();
  cmd->add_option("--prompt", args->prompt, "text to continue")->required();
  cmd->add_option("--max-tokens", args->sample.max_tokens, "tokens to generate")
      ->capture_default_str();
  cmd->add_option("--temperature", args->sample.temperature, "0: greedy")->capture_default_str();
  cmd->add_option("--top-k", args->sample.top_k, "sample among the k likeliest (0: all)")
      ->capture_default_str();
  cmd->add_option("--seed", args->sample.seed, "sampling seed")->capture_default_str();
  cmd->add_option(
      "--tokenizer-dir", args->tokenizer_dir,
      "folder with the vocabulary (gpt2: encoder.json, vocab.bpe; llama3: tokenizer.json)");
  cmd->callback([args] { run_generate(*args); });
}

}  // namespace parti::cli
