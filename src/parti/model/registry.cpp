#include "parti/model/registry.h"

#include "parti/core/check.h"
#include "parti/model/gpt2/describe.h"
#include "parti/model/gpt2/gpt2.h"
#include "parti/model/llama/describe.h"
#include "parti/model/llama/llama.h"

namespace parti::model {
namespace {

// What a family tells the rest of Parti besides its model class (make_model, below).
struct Family {
  std::string name;       // ModelConfig::family, and config.json's model_type
  std::string hf_prefix;  // Hugging Face names may carry it before Parti's
  nlohmann::json (*hf_config)(const ModelConfig&);
  ModelConfig (*from_hf_config)(const nlohmann::json&, const std::string&);
  Footprint (*footprint)(const ModelConfig&);
};

const std::vector<Family>& families() {
  static const std::vector<Family> all = {
      {"gpt2", "transformer.", gpt2::hf_config, gpt2::from_hf_config, gpt2::footprint},
      {"llama", "", llama::hf_config, llama::from_hf_config, llama::footprint},
  };
  return all;
}

std::string known() {
  std::string out;
  for (const Family& f : families()) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

const Family& family(const std::string& name) {
  for (const Family& f : families()) {
    if (f.name == name) return f;
  }
  throw ConfigError(str_cat("model family '", name, "' is not known (known: ", known(), ")"));
}

}  // namespace

template <typename T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& cfg, TpRank tp, std::vector<Chunk> chunks) {
  if (cfg.family == "gpt2") {
    return std::make_unique<gpt2::Gpt2<T>>(cfg, tp, std::move(chunks));
  }
  if (cfg.family == "llama") {
    return std::make_unique<llama::Llama<T>>(cfg, tp, std::move(chunks));
  }
  family(cfg.family);  // throws, naming the known families
  return nullptr;
}

nlohmann::json hf_config(const ModelConfig& cfg) { return family(cfg.family).hf_config(cfg); }

ModelConfig from_hf_config(const nlohmann::json& config, const std::string& file) {
  PARTI_CHECK(
      config.is_object() && config.contains("model_type") && config.at("model_type").is_string(),
      ConfigError, file, ": no model_type (not a Hugging Face config.json?)");
  const std::string type = config.at("model_type").get<std::string>();
  for (const Family& f : families()) {
    if (f.name == type) return f.from_hf_config(config, file);
  }
  throw ConfigError(
      str_cat(file, ": model_type ", type, " is not a family Parti has (", known(), ")"));
}

std::string hf_name_prefix(const ModelConfig& cfg) { return family(cfg.family).hf_prefix; }

Footprint footprint(const ModelConfig& cfg) { return family(cfg.family).footprint(cfg); }

std::vector<std::string> family_names() {
  std::vector<std::string> out;
  for (const Family& f : families()) out.push_back(f.name);
  return out;
}

template std::unique_ptr<Model<float>> make_model<float>(const ModelConfig&, TpRank,
                                                         std::vector<Chunk>);
template std::unique_ptr<Model<double>> make_model<double>(const ModelConfig&, TpRank,
                                                           std::vector<Chunk>);

}  // namespace parti::model
