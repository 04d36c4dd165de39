#include "parti/model/llama/describe.h"

namespace parti::model::llama {

nlohmann::json hf_config(const ModelConfig& cfg) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", cfg.vocab},
          {"hidden_size", cfg.dim},
          {"intermediate_size", cfg.hidden()},
          {"num_hidden_layers", cfg.layers},
          {"num_attention_heads", cfg.heads},
          {"num_key_value_heads", cfg.key_value_heads()},
          {"head_dim", cfg.head_size()},
          {"hidden_act", "silu"},
          {"max_position_embeddings", cfg.seq_len},
          {"rms_norm_eps", cfg.norm_eps},
          {"rope_theta", cfg.rope_theta},
          {"rope_scaling", nullptr},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"attention_dropout", 0.0},
          {"tie_word_embeddings", cfg.tie_embeddings},
          {"initializer_range", 0.02},
          {"pretraining_tp", 1},
          {"use_cache", true},
          {"torch_dtype", "float32"}};
}

Footprint footprint(const ModelConfig& cfg) {
  const double C = cfg.dim, H = cfg.hidden();
  const double kv = static_cast<double>(cfg.key_value_heads()) * cfg.head_size();
  Footprint f;
  f.layer = {{C, C, true, false}, {C, kv, true, false}, {C, kv, true, false}, {C, C, false, false},
             {C, H, true, false}, {C, H, true, false},  {H, C, false, false}};
  f.norm_tensors = 1;
  f.norm_stats = 1;
  f.hidden = H;
  f.hidden_saved = 3;  // gate, up and their SwiGLU product
  f.positions = false;
  f.tied = cfg.tie_embeddings;
  f.embedding_by_pieces = false;
  return f;
}

}  // namespace parti::model::llama
