#include "parti/cli/commands.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "parti/core/check.h"
#include "parti/core/file.h"
#include "parti/core/json.h"
#include "parti/io/checkpoint.h"
#include "parti/io/safetensors.h"
#include "parti/model/registry.h"
#include "parti/train/config.h"
#include "parti/train/saved_run.h"

namespace parti::cli {

void ModelFlags::add(CLI::App* cmd, const std::string& vocab_help) {
  options = {cmd->add_option("--layers", values.layers, "transformer blocks (L)"),
             cmd->add_option("--heads", values.heads, "attention heads (NH)"),
             cmd->add_option("--dim", values.dim, "model width (C)"),
             cmd->add_option("--seq-len", values.seq_len, "context length (T)"),
             cmd->add_option("--vocab", values.vocab, vocab_help)};
  kv_heads = cmd->add_option("--kv-heads", values.kv_heads,
                             "key/value heads (Llama: grouped-query attention)");
  ffn_dim = cmd->add_option("--ffn-dim", values.ffn_dim, "MLP hidden units (Llama)");
  rope_theta =
      cmd->add_option("--rope-theta", values.rope_theta, "rotary embeddings' base (Llama)");
  norm_eps = cmd->add_option("--norm-eps", values.norm_eps, "RMSNorm's epsilon (Llama)");
  tie = cmd->add_flag("--tie-embeddings,!--no-tie-embeddings", values.tie_embeddings,
                      "the output projection is the token embedding (GPT-2: always; Llama: "
                      "the preset's)");
}

void ModelFlags::apply(model::ModelConfig& m) const {
  int* fields[] = {&m.layers, &m.heads, &m.dim, &m.seq_len, &m.vocab};
  const int given[] = {values.layers, values.heads, values.dim, values.seq_len, values.vocab};
  for (size_t i = 0; i < options.size(); ++i) {
    if (options[i]->count() > 0) {
      *fields[i] = given[i];
    }
  }
  if (kv_heads != nullptr && kv_heads->count() > 0) m.kv_heads = values.kv_heads;
  if (ffn_dim != nullptr && ffn_dim->count() > 0) m.ffn_dim = values.ffn_dim;
  if (rope_theta != nullptr && rope_theta->count() > 0) m.rope_theta = values.rope_theta;
  if (norm_eps != nullptr && norm_eps->count() > 0) m.norm_eps = values.norm_eps;
  if (tie != nullptr && tie->count() > 0) m.tie_embeddings = values.tie_embeddings;
}

bool ModelFlags::any() const {
  const CLI::Option* more[] = {kv_heads, ffn_dim, rope_theta, norm_eps, tie};
  return std::any_of(options.begin(), options.end(),
                     [](CLI::Option* o) { return o->count() > 0; }) ||
         std::any_of(std::begin(more), std::end(more),
                     [](const CLI::Option* o) { return o != nullptr && o->count() > 0; });
}

DataMeta read_data_meta(const std::string& dir) {
  const std::string path = dir + "/meta.json";
  std::ifstream in(path);
  PARTI_CHECK(in.good(), DataError, path, ": missing (is ", dir,
              " a folder made by `parti prepare`?)");
  try {
    nlohmann::json meta = nlohmann::json::parse(in);
    return {meta.at("tokenizer").get<std::string>(), json_int<int>(meta.at("vocab_size")),
            json_int(meta, "bos", -1), json_int(meta, "eot", -1)};
  } catch (const nlohmann::json::exception& e) {
    throw DataError(str_cat(path, ": not a valid meta.json: ", e.what()));
  }
}

bool is_hf_folder(const std::string& path) {
  namespace fs = std::filesystem;
  return fs::exists(path + "/config.json") && fs::exists(path + "/model.safetensors") &&
         !fs::exists(path + "/state.json") && !fs::exists(path + "/latest");
}

model::ModelConfig hf_folder_config(const std::string& dir) {
  const std::string file = dir + "/config.json";
  PARTI_CHECK(is_hf_folder(dir), ConfigError, dir,
              ": not a Hugging Face model folder (config.json and model.safetensors)");
  try {
    return model::from_hf_config(nlohmann::json::parse(core::read_file(file)), file);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(str_cat(file, ": not JSON: ", e.what()));
  }
}

LoadedModel load_model(const std::string& ckpt) {
  LoadedModel out;
  if (is_hf_folder(ckpt)) {
    const model::ModelConfig cfg = hf_folder_config(ckpt);
    out.dir = ckpt;
    out.model = model::make_model<float>(cfg);
    // The tokenizer Parti has for the family's usual vocabulary; generation refuses others.
    out.tokenizer = cfg.family == "gpt2" && cfg.vocab == model::kGpt2Vocab ? "gpt2"
                    : cfg.family == "llama" && cfg.vocab == 128'256        ? "llama3"
                                                                           : "";
    out.params.assign(out.model->table().total(), 0.0f);
    io::SafetensorsReader weights(ckpt + "/model.safetensors");
    weights.verify();
    weights.strip_prefix(model::hf_name_prefix(cfg));
    io::load_param_slices(weights, out.model->table(),
                          {{0, out.model->table().total(), out.params.data(), nullptr, nullptr}});
    return out;
  }
  const train::SavedRun saved = train::read_saved_run(io::resolve_checkpoint(ckpt));
  out.dir = saved.dir;
  out.model = model::make_model<float>(saved.model);
  out.tokenizer = saved.tokenizer;
  out.params.assign(out.model->table().total(), 0.0f);
  io::load_checkpoint(out.dir, {out.model->table(), out.params.data(), nullptr, nullptr});
  return out;
}

std::optional<int64_t> parse_integer(const std::string& text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [at, error] = std::from_chars(text.data(), end, v);
  if (text.empty() || error != std::errc() || at != end) {
    return std::nullopt;
  }
  return v;
}

}  // namespace parti::cli
