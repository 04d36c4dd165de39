// parti export --ckpt PATH --hf OUT [--tokenizer-dir D]
// A checkpoint as a Hugging Face model folder: model.safetensors (F32, GPT2LMHeadModel's or
// LlamaForCausalLM's names and layouts, as Parti writes them) and config.json from the step
// folder, and the tokenizer under Hugging Face's names: GPT-2's vocab.json and merges.txt (the
// encoder.json and vocab.bpe it was prepared with), Llama 3's tokenizer.json. The byte tokenizer
// has no Hugging Face form: the folder then holds the model alone, and the command says so.
// OUT is written beside itself and put in place whole (io::replace_folder), like prepare's.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/core/file.h"
#include "parti/data/tokenizer.h"
#include "parti/io/checkpoint.h"
#include "parti/io/files.h"
#include "parti/train/saved_run.h"

namespace parti::cli {
namespace {

struct ExportArgs {
  std::string ckpt;
  std::string hf;
  std::string tokenizer_dir;
};

void copy_file(const std::string& from, const std::string& to) {
  io::write_text(to, core::read_file(from));
  io::sync_path(to);
}

// The tokenizer files Hugging Face reads, from where the run's tokenizer came; their names, or
// none for the byte tokenizer.
std::vector<std::string> write_tokenizer(const std::string& kind, const std::string& dir,
                                         const std::string& out) {
  if (kind == "gpt2") {
    const std::string from = dir.empty() ? data::default_gpt2_dir() : dir;
    copy_file(from + "/encoder.json", out + "/vocab.json");
    copy_file(from + "/vocab.bpe", out + "/merges.txt");
    return {"vocab.json", "merges.txt"};
  }
  if (kind == "llama3") {
    copy_file((dir.empty() ? data::default_llama3_dir() : dir) + "/tokenizer.json",
              out + "/tokenizer.json");
    return {"tokenizer.json"};
  }
  return {};
}

void run_export(const ExportArgs& a) {
  namespace fs = std::filesystem;
  const train::SavedRun saved = train::read_saved_run(io::resolve_checkpoint(a.ckpt));
  io::SafetensorsReader(saved.dir + "/model.safetensors").verify();
  std::string out = fs::path(a.hf).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  PARTI_CHECK(!fs::exists(out) || (fs::is_directory(out) && fs::is_empty(out)) || is_hf_folder(out),
              ConfigError, "--hf ", a.hf,
              " exists and is not an empty folder or a model folder (it is replaced whole)");
  const std::string tmp = str_cat(out, ".tmp-", ::getpid());
  std::vector<std::string> tokenizer;
  try {
    io::make_dirs(tmp);
    copy_file(saved.dir + "/model.safetensors", tmp + "/model.safetensors");
    copy_file(saved.dir + "/config.json", tmp + "/config.json");
    tokenizer = write_tokenizer(saved.tokenizer, a.tokenizer_dir, tmp);
    io::sync_path(tmp);
    io::replace_folder(tmp, out);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  std::cout << "exported " << saved.dir << " to " << out << ": model.safetensors, config.json";
  for (const std::string& f : tokenizer) std::cout << ", " << f;
  if (tokenizer.empty()) {
    std::cout << " (the " << saved.tokenizer << " tokenizer has no Hugging Face form)";
  }
  std::cout << "\n";
}

}  // namespace

void add_export(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "export", "write a checkpoint as a Hugging Face model folder (model, config, tokenizer)");
  cmd->add_option("--ckpt", args->ckpt, "checkpoint folder or step folder")->required();
  cmd->add_option("--hf", args->hf, "the Hugging Face folder to write")->required();
  cmd->add_option("--tokenizer-dir", args->tokenizer_dir,
                  "where the run's vocabulary is (default: the one scripts/ensure-deps installs)");
  cmd->callback([args] { run_export(*args); });
}

}  // namespace parti::cli
