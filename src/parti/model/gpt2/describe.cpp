#include "parti/model/gpt2/describe.h"

namespace parti::model::gpt2 {

nlohmann::json hf_config(const ModelConfig& cfg) {
  return {{"architectures", {"GPT2LMHeadModel"}},
          {"model_type", "gpt2"},
          {"vocab_size", cfg.vocab},
          {"n_embd", cfg.dim},
          {"n_layer", cfg.layers},
          {"n_head", cfg.heads},
          {"n_positions", cfg.seq_len},
          {"n_ctx", cfg.seq_len},
          {"n_inner", nullptr},
          {"activation_function", "gelu_new"},
          {"layer_norm_epsilon", 1e-5},
          {"resid_pdrop", 0.0},
          {"embd_pdrop", 0.0},
          {"attn_pdrop", 0.0},
          {"initializer_range", 0.02},
          {"tie_word_embeddings", true},
          {"use_cache", true},
          {"torch_dtype", "float32"}};
}

Footprint footprint(const ModelConfig& cfg) {
  const double C = cfg.dim, H = cfg.hidden();
  Footprint f;
  f.layer = {{C, 3 * C, true, true}, {C, C, false, true}, {C, H, true, true}, {H, C, false, true}};
  f.norm_tensors = 2;
  f.norm_stats = 2;
  f.hidden = H;
  f.hidden_saved = 2;  // before and after the GELU
  f.positions = true;
  f.tied = true;
  f.embedding_by_pieces = true;
  return f;
}

}  // namespace parti::model::gpt2
