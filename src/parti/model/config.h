// The model's shape and family (GPT-2, Llama). Presets give every field; explicit flags override
// fields. L layers, NH heads, C width, T context (seq_len), V vocabulary, Vp = V padded to
// kVocabMultiple.
#pragma once

#include <string>
#include <vector>

namespace parti::model {

constexpr int kVocabMultiple = 128;
constexpr int kGpt2Vocab = 50257;

struct ModelConfig {
  int layers = 0;               // L
  int heads = 0;                // NH
  int dim = 0;                  // C
  int seq_len = 0;              // T, the longest context (GPT-2: the size of wpe)
  int vocab = 0;                // V
  std::string family = "gpt2";  // the model registry's key (registry.h)
  // Llama's fields (GPT-2 ignores them: 4C MLP units, learned positions, LayerNorm, tied).
  int kv_heads = 0;             // key/value heads (grouped-query attention); 0: heads
  int ffn_dim = 0;              // MLP hidden units; 0: the family's default
  double rope_theta = 10000.0;  // rotary embeddings' base
  double norm_eps = 1e-5;       // RMSNorm's epsilon
  bool tie_embeddings = true;   // the output projection is the token embedding
  int padded_vocab() const {
    return (vocab + kVocabMultiple - 1) / kVocabMultiple * kVocabMultiple;
  }
  int head_size() const { return dim / heads; }
  int key_value_heads() const { return kv_heads > 0 ? kv_heads : heads; }
  int hidden() const { return ffn_dim > 0 ? ffn_dim : 4 * dim; }
};

// tiny, small, gpt2, gpt2-medium, gpt2-large, gpt2-xl; llama-tiny, llama-small, llama3-1b,
// llama3-8b. Throws ConfigError for another name.
ModelConfig preset(const std::string& name);
std::vector<std::string> preset_names();

// Every violated rule, each naming the flag ("--heads 5 does not divide --dim 128").
std::vector<std::string> validate(const ModelConfig& cfg);

// Parameter count (logical, vocabulary unpadded, tied output projection counted once).
long long parameter_count(const ModelConfig& cfg);

// Model FLOPs per trained token (forward + backward, no recompute):
//   6 * N  +  12 * L * C * T   (N without an untied input embedding, a lookup)   (PaLM, Chowdhery
//   et al. 2022, appendix B: the attention term
// counts QK^T and AV over the full T x T square, forward and backward).
double flops_per_token(const ModelConfig& cfg, int seq_len);

}  // namespace parti::model
