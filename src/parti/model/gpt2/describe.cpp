#include "parti/model/gpt2/describe.h"

#include "parti/core/check.h"
#include "parti/core/json.h"

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

ModelConfig from_hf_config(const nlohmann::json& c, const std::string& file) {
  ModelConfig m;
  m.family = "gpt2";
  try {
    m.layers = json_int<int>(c.at("n_layer"));
    m.heads = json_int<int>(c.at("n_head"));
    m.dim = json_int<int>(c.at("n_embd"));
    m.seq_len = json_int<int>(c.at("n_positions"));
    m.vocab = json_int<int>(c.at("vocab_size"));
    const nlohmann::json inner = c.value("n_inner", nlohmann::json());
    PARTI_CHECK(inner.is_null() || json_int<int>(inner) == 4 * m.dim, ConfigError, file,
                ": n_inner ", inner.dump(), ": Parti's GPT-2 has 4 x n_embd MLP units");
    const std::string act = c.value("activation_function", "gelu_new");
    PARTI_CHECK(act == "gelu_new" || act == "gelu_pytorch_tanh", ConfigError, file,
                ": activation_function ", act, ": Parti's GPT-2 computes the tanh GELU (gelu_new)");
    const double eps = c.value("layer_norm_epsilon", 1e-5);
    PARTI_CHECK(eps == 1e-5, ConfigError, file, ": layer_norm_epsilon ", eps,
                ": Parti's LayerNorm uses 1e-5");
    PARTI_CHECK(c.value("tie_word_embeddings", true), ConfigError, file,
                ": tie_word_embeddings false: Parti's GPT-2 ties the output projection");
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(str_cat(file, ": not a GPT2Config: ", e.what()));
  }
  return m;
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
  f.eager_stream = f.eager_split = 0;  // eager PyTorch's LayerNorm and GELU are one kernel each
  return f;
}

}  // namespace parti::model::gpt2
