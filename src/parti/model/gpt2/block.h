// Transformer block, pre-LayerNorm (GPT-2 `h.<l>`): model/pre_norm_block.h with
//   x1  = x  + attn(ln_1(x))
//   out = x1 + mlp(ln_2(x1))
#pragma once

#include <string>

#include "parti/model/gpt2/attention.h"
#include "parti/model/gpt2/layernorm.h"
#include "parti/model/gpt2/mlp.h"
#include "parti/model/pre_norm_block.h"

namespace parti::model::gpt2 {

template <typename T>
class Block : public PreNormBlock<T> {
 public:
  Block(ParamTable& table, const std::string& prefix, int C, int NH)
      : PreNormBlock<T>(table, C),
        ln_1_(table, prefix + ".ln_1", C),
        attn_(table, prefix + ".attn", C, NH),
        ln_2_(table, prefix + ".ln_2", C),
        mlp_(table, prefix + ".mlp", C) {
    this->set_children(ln_1_, attn_, ln_2_, mlp_);
  }

 private:
  LayerNorm<T> ln_1_;
  Attention<T> attn_;
  LayerNorm<T> ln_2_;
  Mlp<T> mlp_;
};

}  // namespace parti::model::gpt2
