#include "parti/model/config.h"

#include <map>

#include "parti/core/check.h"

namespace parti::model {
namespace {

const std::map<std::string, ModelConfig>& presets() {
  static const std::map<std::string, ModelConfig> table = {
      {"tiny", {4, 4, 128, 64, kGpt2Vocab}},
      {"small", {6, 6, 384, 256, kGpt2Vocab}},
      {"gpt2", {12, 12, 768, 1024, kGpt2Vocab}},
      {"gpt2-medium", {24, 16, 1024, 1024, kGpt2Vocab}},
      {"gpt2-large", {36, 20, 1280, 1024, kGpt2Vocab}},
      {"gpt2-xl", {48, 25, 1600, 1024, kGpt2Vocab}},
  };
  return table;
}

}  // namespace

ModelConfig preset(const std::string& name) {
  auto it = presets().find(name);
  PARTI_CHECK(it != presets().end(), ConfigError, "--model ", name,
              " is not a preset (try tiny, small, gpt2, gpt2-medium, gpt2-large, gpt2-xl)");
  return it->second;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, cfg] : presets()) {
    names.push_back(name);
  }
  return names;
}

std::vector<std::string> validate(const ModelConfig& cfg) {
  std::vector<std::string> errors;
  auto need_positive = [&](int value, const char* flag) {
    if (value <= 0) {
      errors.push_back(str_cat(flag, " must be positive, got ", value));
    }
  };
  need_positive(cfg.layers, "--layers");
  need_positive(cfg.heads, "--heads");
  need_positive(cfg.dim, "--dim");
  need_positive(cfg.seq_len, "--seq-len");
  need_positive(cfg.vocab, "--vocab");
  if (cfg.heads > 0 && cfg.dim > 0 && cfg.dim % cfg.heads != 0) {
    errors.push_back(str_cat("--heads ", cfg.heads, " does not divide --dim ", cfg.dim));
  }
  return errors;
}

long long parameter_count(const ModelConfig& cfg) {
  const long long C = cfg.dim;
  const long long per_layer =
      2 * C + (C * 3 * C + 3 * C) + (C * C + C) + 2 * C + (C * 4 * C + 4 * C) + (4 * C * C + C);
  return static_cast<long long>(cfg.vocab) * C + static_cast<long long>(cfg.seq_len) * C +
         cfg.layers * per_layer + 2 * C;
}

double flops_per_token(const ModelConfig& cfg, int seq_len) {
  return 6.0 * static_cast<double>(parameter_count(cfg)) +
         12.0 * cfg.layers * static_cast<double>(cfg.dim) * seq_len;
}

}  // namespace parti::model
