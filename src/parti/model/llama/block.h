// Decoder layer, pre-RMSNorm (Llama `model.layers.<l>`):
//   x1  = x  + self_attn(input_layernorm(x))
//   out = x1 + mlp(post_attention_layernorm(x1))
// Backward visits the children in exact reverse order. With full recomputation the layer keeps
// only its input and runs forward again at the start of backward (bit-identical).
#pragma once

#include <string>

#include "parti/model/config.h"
#include "parti/model/llama/attention.h"
#include "parti/model/llama/mlp.h"
#include "parti/model/llama/rmsnorm.h"

namespace parti::model::llama {

template <typename T>
class Block : public Module<T> {
 public:
  Block(ParamTable& table, const std::string& prefix, const ModelConfig& cfg);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  void forward_body(Pass<T>& pass, const T* in, T* out);
  void backward_body(Pass<T>& pass, const T* dout, T* dinp);
  int C_;
  int id_;
  RmsNorm<T> input_norm_;
  Attention<T> attn_;
  RmsNorm<T> post_attention_norm_;
  Mlp<T> mlp_;
};

}  // namespace parti::model::llama
