// The `parti` subcommands. Each add_* declares its flags once (name, help, default) on the app and
// installs the callback that runs it; errors are thrown as parti::Error and printed by main.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "parti/data/tokenizer.h"
#include "parti/model/gpt.h"

namespace parti::cli {

void add_prepare(CLI::App& app);
void add_train(CLI::App& app);
void add_generate(CLI::App& app);
void add_eval(CLI::App& app);
void add_tokenize(CLI::App& app);

// A model loaded from a checkpoint (`--ckpt` of generate and eval).
struct LoadedModel {
  std::unique_ptr<model::Gpt<float>> gpt;
  std::vector<float> params;
  std::string tokenizer;  // "gpt2" or "byte", from the training data's meta.json
  std::string dir;        // the step folder
};
LoadedModel load_model(const std::string& ckpt);

// meta.json of a prepared data folder.
struct DataMeta {
  std::string tokenizer;
  int vocab_size = 0;
};
DataMeta read_data_meta(const std::string& dir);

}  // namespace parti::cli
