// The `parti` subcommands. Each add_* declares its flags once (name, help, default) on the app and
// installs the callback that runs it; errors are thrown as parti::Error and printed by main.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "parti/data/tokenizer.h"
#include "parti/dist/mpi_env.h"
#include "parti/model/model.h"

namespace parti::cli {

// What the process was started with: an MPI environment under mpirun/srun, else none.
struct Runtime {
  dist::MpiEnv* mpi = nullptr;
  int rank() const { return mpi != nullptr ? mpi->rank() : 0; }
  int size() const { return mpi != nullptr ? mpi->size() : 1; }
};

void add_prepare(CLI::App& app);
void add_train(CLI::App& app, const Runtime& runtime);
void add_generate(CLI::App& app);
void add_eval(CLI::App& app);
void add_export(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_bench(CLI::App& app, const Runtime& runtime);
void add_schedule(CLI::App& app);
void add_plan(CLI::App& app);
void add_elastic(CLI::App& app);

// The model-shape flags (--layers --heads --dim --seq-len --vocab), each overriding one field of
// a preset when given. add() declares them on a subcommand; apply() writes the given ones into m.
struct ModelFlags {
  model::ModelConfig values;
  std::vector<CLI::Option*> options;  // in the order above
  CLI::Option *kv_heads = nullptr, *ffn_dim = nullptr, *rope_theta = nullptr, *norm_eps = nullptr,
              *tie = nullptr;  // Llama's shape
  void add(CLI::App* cmd, const std::string& vocab_help);
  void apply(model::ModelConfig& m) const;
  bool any() const;
};

// A model loaded from a checkpoint (`--ckpt` of generate and eval).
struct LoadedModel {
  std::unique_ptr<model::Model<float>> model;
  std::vector<float> params;
  std::string tokenizer;  // "gpt2" or "byte", from the training data's meta.json
  std::string dir;        // the step folder
};
// `ckpt`: a checkpoint folder, a step folder, or a Hugging Face model folder (config.json and
// model.safetensors, no state.json: its names and dtypes as train --init-from reads them).
LoadedModel load_model(const std::string& ckpt);
// `text` as a whole decimal integer (nothing before or after it); empty when it is not one or
// does not fit.
std::optional<int64_t> parse_integer(const std::string& text);
bool is_hf_folder(const std::string& path);
// A Hugging Face folder's config.json as a model (model::from_hf_config); ConfigError naming it.
model::ModelConfig hf_folder_config(const std::string& dir);

// meta.json of a prepared data folder.
struct DataMeta {
  std::string tokenizer;
  int vocab_size = 0;
  int bos = -1;  // -1: none (GPT-2, byte) or a folder prepared before meta.json had it
  int eot = -1;
};
DataMeta read_data_meta(const std::string& dir);

}  // namespace parti::cli
