#include "parti/model/config.h"

#include <cmath>
#include <map>

#include "parti/core/check.h"

namespace parti::model {
namespace {

constexpr int kLlama3Vocab = 128256;

ModelConfig llama(int layers, int heads, int kv_heads, int dim, int ffn_dim, int seq_len, int vocab,
                  bool tied) {
  ModelConfig m{layers, heads, dim, seq_len, vocab, "llama"};
  m.kv_heads = kv_heads;
  m.ffn_dim = ffn_dim;
  m.rope_theta = 500000.0;
  m.tie_embeddings = tied;
  return m;
}

const std::map<std::string, ModelConfig>& presets() {
  static const std::map<std::string, ModelConfig> table = {
      {"tiny", {4, 4, 128, 64, kGpt2Vocab}},
      {"small", {6, 6, 384, 256, kGpt2Vocab}},
      {"gpt2", {12, 12, 768, 1024, kGpt2Vocab}},
      {"gpt2-medium", {24, 16, 1024, 1024, kGpt2Vocab}},
      {"gpt2-large", {36, 20, 1280, 1024, kGpt2Vocab}},
      {"gpt2-xl", {48, 25, 1600, 1024, kGpt2Vocab}},
      // Llama (issue #17): the vocabulary is the data's (Llama 3's 128,256 for the big ones).
      {"llama-tiny", llama(4, 4, 2, 128, 384, 64, kGpt2Vocab, false)},
      {"llama-small", llama(6, 6, 2, 384, 1024, 256, kGpt2Vocab, false)},
      {"llama3-1b", llama(16, 32, 8, 2048, 8192, 8192, kLlama3Vocab, true)},
      {"llama3-8b", llama(32, 32, 8, 4096, 14336, 8192, kLlama3Vocab, false)},
  };
  return table;
}

}  // namespace

ModelConfig preset(const std::string& name) {
  auto it = presets().find(name);
  PARTI_CHECK(it != presets().end(), ConfigError, "--model ", name,
              " is not a preset (try tiny, small, gpt2, gpt2-medium, gpt2-large, gpt2-xl, "
              "llama-tiny, llama-small, llama3-1b, llama3-8b)");
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
  if (cfg.family == "llama") {
    if (cfg.kv_heads < 0 || (cfg.kv_heads > 0 && cfg.heads % cfg.kv_heads != 0)) {
      errors.push_back(str_cat("--kv-heads ", cfg.kv_heads, " does not divide --heads ", cfg.heads,
                               " (grouped-query attention shares each key/value head among "
                               "heads / kv-heads query heads)"));
    }
    if (cfg.heads > 0 && cfg.dim > 0 && cfg.dim % cfg.heads == 0 && cfg.head_size() % 2 != 0) {
      errors.push_back(str_cat("--dim ", cfg.dim, " / --heads ", cfg.heads,
                               " is an odd head size (rotary embeddings turn pairs)"));
    }
    need_positive(cfg.ffn_dim, "--ffn-dim");
    if (!(cfg.rope_theta > 1.0) || !std::isfinite(cfg.rope_theta)) {
      errors.push_back(
          str_cat("--rope-theta must be a finite number above 1, got ", cfg.rope_theta));
    }
    if (!(cfg.norm_eps > 0.0) || !std::isfinite(cfg.norm_eps)) {
      errors.push_back(str_cat("--norm-eps must be a finite positive number, got ", cfg.norm_eps));
    }
  } else if (cfg.family == "gpt2" && !cfg.tie_embeddings) {
    errors.push_back("--no-tie-embeddings: GPT-2's output projection is its token embedding");
  }
  return errors;
}

long long parameter_count(const ModelConfig& cfg) {
  const long long C = cfg.dim;
  if (cfg.family == "llama") {
    const long long kv = static_cast<long long>(cfg.key_value_heads()) * cfg.head_size();
    const long long H = cfg.hidden();
    const long long per_layer = 2 * C + C * C + 2 * C * kv + C * C + 3 * C * H;
    return static_cast<long long>(cfg.vocab) * C * (cfg.tie_embeddings ? 1 : 2) +
           cfg.layers * per_layer + C;
  }
  const long long per_layer =
      2 * C + (C * 3 * C + 3 * C) + (C * C + C) + 2 * C + (C * 4 * C + 4 * C) + (4 * C * C + C);
  return static_cast<long long>(cfg.vocab) * C + static_cast<long long>(cfg.seq_len) * C +
         cfg.layers * per_layer + 2 * C;
}

double flops_per_token(const ModelConfig& cfg, int seq_len) {
  // An untied input embedding is a lookup, not a product: no FLOPs.
  const double lookup =
      cfg.tie_embeddings ? 0.0 : static_cast<double>(cfg.vocab) * static_cast<double>(cfg.dim);
  return 6.0 * (static_cast<double>(parameter_count(cfg)) - lookup) +
         12.0 * cfg.layers * static_cast<double>(cfg.dim) * seq_len;
}

}  // namespace parti::model
