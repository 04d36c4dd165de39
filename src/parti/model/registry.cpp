#include "parti/model/registry.h"

#include "parti/core/check.h"
#include "parti/model/gpt2/describe.h"
#include "parti/model/gpt2/gpt2.h"
#include "parti/model/llama/describe.h"
#include "parti/model/llama/llama.h"

namespace parti::model {

template <typename T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& cfg, TpRank tp, std::vector<Chunk> chunks) {
  if (cfg.family == "gpt2") {
    return std::make_unique<gpt2::Gpt2<T>>(cfg, tp, std::move(chunks));
  }
  if (cfg.family == "llama") {
    return std::make_unique<llama::Llama<T>>(cfg, tp, std::move(chunks));
  }
  PARTI_CHECK(false, ConfigError, "model family '", cfg.family,
              "' is not known (known: gpt2, llama)");
  return nullptr;
}

nlohmann::json hf_config(const ModelConfig& cfg) {
  if (cfg.family == "llama") {
    return llama::hf_config(cfg);
  }
  PARTI_CHECK(cfg.family == "gpt2", ConfigError, "model family '", cfg.family,
              "' is not known (known: gpt2, llama)");
  return gpt2::hf_config(cfg);
}

Footprint footprint(const ModelConfig& cfg) {
  if (cfg.family == "llama") {
    return llama::footprint(cfg);
  }
  PARTI_CHECK(cfg.family == "gpt2", ConfigError, "model family '", cfg.family,
              "' is not known (known: gpt2, llama)");
  return gpt2::footprint(cfg);
}

std::vector<std::string> family_names() { return {"gpt2", "llama"}; }

template std::unique_ptr<Model<float>> make_model<float>(const ModelConfig&, TpRank,
                                                         std::vector<Chunk>);
template std::unique_ptr<Model<double>> make_model<double>(const ModelConfig&, TpRank,
                                                           std::vector<Chunk>);

}  // namespace parti::model
