// parti generate --ckpt PATH [--prompt TEXT] [--max-tokens N --temperature --top-k --top-p --seed
//                --num-samples N --no-cache]
// Streams each sample's text as it is drawn; the last line (on stderr) gives tokens/s.
#include <chrono>
#include <cmath>
#include <cstdio>
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
  int num_samples = 1;
  bool no_cache = false;
  bool ignore_eot = false;
  train::SampleOptions sample;
};

// The prompt's ids: its text encoded, the tokenizer's special tokens written as text
// ("<|endoftext|>", "<|begin_of_text|>") as their ids; after the begin token when there is one,
// as training saw documents. No prompt: the start of a document (bos, else the end-of-text token
// that separates GPT-2's documents), for unconditional samples.
std::vector<int32_t> encode_prompt(const data::Tokenizer& tokenizer, const std::string& text) {
  std::vector<std::pair<std::string, int32_t>> specials;
  for (int32_t id : {tokenizer.eot(), tokenizer.bos()}) {
    if (id >= 0) {
      std::string name = tokenizer.decode({id});
      if (name.size() > 4 && name.rfind("<|", 0) == 0) {
        specials.emplace_back(name, id);
      }
    }
  }
  std::vector<int32_t> ids;
  if (tokenizer.bos() >= 0 && text.rfind(tokenizer.decode({tokenizer.bos()}), 0) != 0) {
    ids.push_back(tokenizer.bos());
  }
  size_t at = 0;
  while (at < text.size()) {
    size_t next = text.size();
    const std::pair<std::string, int32_t>* found = nullptr;
    for (const auto& special : specials) {
      const size_t p = text.find(special.first, at);
      if (p < next) {
        next = p;
        found = &special;
      }
    }
    for (int32_t id : tokenizer.encode(std::string_view(text).substr(at, next - at))) {
      ids.push_back(id);
    }
    if (found == nullptr) {
      break;
    }
    ids.push_back(found->second);
    at = next + found->first.size();
  }
  if (ids.empty()) {
    ids.push_back(tokenizer.eot());
  }
  return ids;
}

// Writes bytes as they come, holding back an unfinished UTF-8 sequence at the end; invalid
// pieces print as U+FFFD, so a terminal shows text.
class Stream {
 public:
  void write(const std::string& bytes) {
    pending_ += bytes;
    size_t complete = pending_.size();
    for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
      const auto c = static_cast<unsigned char>(pending_[pending_.size() - back]);
      if ((c & 0xC0) != 0x80) {  // a lead byte: is its sequence finished?
        const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (need > back) {
          complete = pending_.size() - back;
        }
        break;
      }
    }
    emit(pending_.substr(0, complete));
    pending_.erase(0, complete);
  }
  void finish() {
    emit(pending_);
    pending_.clear();
    std::cout << std::endl;
  }

 private:
  static void emit(const std::string& bytes) {
    std::string text;
    for (uint32_t cp : data::utf8_decode(bytes)) {
      data::utf8_append(text, cp);
    }
    std::cout << text << std::flush;
  }
  std::string pending_;
};

void run_generate(const GenerateArgs& a) {
  PARTI_CHECK(a.sample.temperature >= 0 && std::isfinite(a.sample.temperature), ConfigError,
              "--temperature must be a finite number >= 0 (0: greedy), got ", a.sample.temperature);
  PARTI_CHECK(a.sample.top_p > 0 && a.sample.top_p <= 1, ConfigError,
              "--top-p must be in (0, 1] (1: all tokens), got ", a.sample.top_p);
  PARTI_CHECK(a.num_samples >= 1, ConfigError, "--num-samples must be >= 1, got ", a.num_samples);
  LoadedModel m = load_model(a.ckpt);
  auto tokenizer = data::make_tokenizer(m.tokenizer, a.tokenizer_dir);
  train::SampleOptions options = a.sample;
  options.stop_token = a.ignore_eot ? -1 : tokenizer->eot();
  options.cache = !a.no_cache;
  core::Arena arena;
  const std::vector<int32_t> prompt = encode_prompt(*tokenizer, a.prompt);
  size_t drawn = 0;
  const auto begin = std::chrono::steady_clock::now();
  for (int s = 0; s < a.num_samples; ++s) {
    if (a.num_samples > 1) {
      std::cout << "--- sample " << s + 1 << " (seed " << a.sample.seed + static_cast<uint64_t>(s)
                << ") ---\n";
    }
    options.seed = a.sample.seed + static_cast<uint64_t>(s);
    Stream out;
    out.write(a.prompt);
    train::generate(*m.model, m.params.data(), arena, prompt, options, [&](int32_t id) {
      ++drawn;
      if (id != tokenizer->eot()) {
        out.write(tokenizer->decode({id}));
      }
    });
    out.finish();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::fprintf(stderr, "generate: %zu tokens in %.2f s, %.1f tokens/s (%s; prompt %zu tokens)\n",
               drawn, seconds, static_cast<double>(drawn) / seconds,
               options.cache ? "key/value cache" : "no cache: the whole context per token",
               prompt.size());
}

}  // namespace

void add_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "sample text from a checkpoint");
  cmd->add_option("--ckpt", args->ckpt, "checkpoint step folder or checkpoint folder")->required();
  cmd->add_option("--prompt", args->prompt,
                  "text to continue (none: unconditional, from the start-of-document token; "
                  "<|endoftext|> in it is that token)");
  cmd->add_option("--max-tokens", args->sample.max_tokens, "tokens to generate per sample")
      ->capture_default_str();
  cmd->add_option("--temperature", args->sample.temperature, "0: greedy")->capture_default_str();
  cmd->add_option("--top-k", args->sample.top_k, "sample among the k likeliest (0: all)")
      ->capture_default_str();
  cmd->add_option("--top-p", args->sample.top_p,
                  "then among the likeliest whose probability reaches p (1: all)")
      ->capture_default_str();
  cmd->add_option("--seed", args->sample.seed, "sampling seed (sample n uses seed + n - 1)")
      ->capture_default_str();
  cmd->add_option("--num-samples", args->num_samples, "samples to draw")->capture_default_str();
  cmd->add_flag("--no-cache", args->no_cache,
                "rerun the whole context for every new token (no key/value cache)");
  cmd->add_flag("--ignore-eot", args->ignore_eot,
                "go on past the end-of-text token (benchmarks: always --max-tokens tokens)");
  cmd->add_option(
      "--tokenizer-dir", args->tokenizer_dir,
      "folder with the vocabulary (gpt2: encoder.json, vocab.bpe; llama3: tokenizer.json)");
  cmd->callback([args] { run_generate(*args); });
}

}  // namespace parti::cli
