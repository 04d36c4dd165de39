#include "parti/model/llama/describe.h"

#include "parti/core/check.h"
#include "parti/core/json.h"

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

ModelConfig from_hf_config(const nlohmann::json& c, const std::string& file) {
  ModelConfig m;
  m.family = "llama";
  try {
    m.layers = json_int<int>(c.at("num_hidden_layers"));
    m.heads = json_int<int>(c.at("num_attention_heads"));
    m.dim = json_int<int>(c.at("hidden_size"));
    m.kv_heads = json_int(c, "num_key_value_heads", m.heads);
    m.ffn_dim = json_int<int>(c.at("intermediate_size"));
    m.seq_len = json_int<int>(c.at("max_position_embeddings"));
    m.vocab = json_int<int>(c.at("vocab_size"));
    m.norm_eps = c.value("rms_norm_eps", 1e-6);
    m.rope_theta = c.value("rope_theta", 10000.0);
    m.tie_embeddings = c.value("tie_word_embeddings", false);
    const nlohmann::json head_dim = c.value("head_dim", nlohmann::json());
    PARTI_CHECK(head_dim.is_null() || m.heads <= 0 || json_int<int>(head_dim) == m.dim / m.heads,
                ConfigError, file, ": head_dim ", head_dim.dump(),
                ": Parti's Llama has hidden_size / num_attention_heads");
    const nlohmann::json scaling = c.value("rope_scaling", nlohmann::json());
    PARTI_CHECK(scaling.is_null(), ConfigError, file, ": rope_scaling ", scaling.dump(),
                ": Parti's Llama computes plain RoPE (no scaling) so far");
    const std::string act = c.value("hidden_act", "silu");
    PARTI_CHECK(act == "silu", ConfigError, file, ": hidden_act ", act,
                ": Parti's Llama computes SwiGLU (silu)");
    PARTI_CHECK(!c.value("attention_bias", false) && !c.value("mlp_bias", false), ConfigError, file,
                ": attention_bias or mlp_bias: Parti's Llama has no biases");
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(str_cat(file, ": not a LlamaConfig: ", e.what()));
  }
  return m;
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
  // RMSNorm as Meta's reference code writes it (to fp32, square, mean, rsqrt, scale, back to
  // bf16, weight): about 36 bytes an element where one kernel moves 4, twice a layer; rotary
  // embeddings through complex fp32 views (about 28 bytes an element of q and k against 4);
  // SwiGLU's silu and product as two kernels (10 bytes an element of the hidden against 6).
  f.eager_stream = 2 * 16;
  f.eager_split = 12 * (C + kv) + 2 * H;
  return f;
}

}  // namespace parti::model::llama
