// parti tokenize --text STRING | --file F [--tokenizer gpt2|llama3|byte] [--tokenizer-dir D]
// Prints the token count, then (last line) the JSON array of ids.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "parti/cli/commands.h"
#include "parti/core/check.h"

namespace parti::cli {
namespace {

struct TokenizeArgs {
  std::string text;
  std::string file;
  std::string tokenizer = "gpt2";
  std::string tokenizer_dir;
};

void run_tokenize(const TokenizeArgs& a, bool has_text) {
  PARTI_CHECK(has_text != !a.file.empty(), ConfigError, "give exactly one of --text and --file");
  std::string text = a.text;
  if (!a.file.empty()) {
    std::ifstream in(a.file, std::ios::binary);
    PARTI_CHECK(in.good(), DataError, a.file, ": cannot open");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  auto tokenizer = data::make_tokenizer(a.tokenizer, a.tokenizer_dir);
  std::vector<int32_t> ids = tokenizer->encode(text);
  std::cout << ids.size() << " tokens (" << tokenizer->name() << ")\n"
            << nlohmann::json(ids).dump() << "\n";
}

}  // namespace

void add_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "print the token ids of a text");
  CLI::Option* text = cmd->add_option("--text", args->text, "the text");
  cmd->add_option("--file", args->file, "a file holding the text");
  cmd->add_option("--tokenizer", args->tokenizer, "gpt2, llama3 or byte")->capture_default_str();
  cmd->add_option(
      "--tokenizer-dir", args->tokenizer_dir,
      "folder with the vocabulary (gpt2: encoder.json, vocab.bpe; llama3: tokenizer.json)");
  cmd->callback([args, text] { run_tokenize(*args, text->count() > 0); });
}

}  // namespace parti::cli
