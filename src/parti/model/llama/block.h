// Decoder layer, pre-RMSNorm (Llama `model.layers.<l>`): model/pre_norm_block.h with
//   x1  = x  + self_attn(input_layernorm(x))
//   out = x1 + mlp(post_attention_layernorm(x1))
#pragma once

#include <string>

#include "parti/model/config.h"
#include "parti/model/llama/attention.h"
#include "parti/model/llama/mlp.h"
#include "parti/model/llama/rmsnorm.h"
#include "parti/model/pre_norm_block.h"

namespace parti::model::llama {

template <typename T>
class Block : public PreNormBlock<T> {
 public:
  Block(ParamTable& table, const std::string& prefix, const ModelConfig& cfg)
      : PreNormBlock<T>(table, cfg.dim),
        input_norm_(table, prefix + ".input_layernorm", cfg.dim, cfg.norm_eps),
        attn_(table, prefix + ".self_attn", cfg.dim, cfg.heads, cfg.key_value_heads(),
              cfg.rope_theta),
        post_attention_norm_(table, prefix + ".post_attention_layernorm", cfg.dim, cfg.norm_eps),
        mlp_(table, prefix + ".mlp", cfg.dim, cfg.hidden()) {
    this->set_children(input_norm_, attn_, post_attention_norm_, mlp_);
  }

 private:
  RmsNorm<T> input_norm_;
  Attention<T> attn_;
  RmsNorm<T> post_attention_norm_;
  Mlp<T> mlp_;
};

}  // namespace parti::model::llama
