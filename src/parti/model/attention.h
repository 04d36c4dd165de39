// Causal self-attention sublayer (GPT-2 `attn`):
//   qkv = x c_attn + b   (B, T, 3C)     c_attn.weight (C, 3C)
//   y   = attention(qkv) (B, T, C)      softmax(q k^T / sqrt(HS)) v per head, causal
//   out = y c_proj + b   (B, T, C)      c_proj.weight (C, C), residual-scaled init
// Saves inp, qkv, att (B, NH, T, T) and y.
#pragma once

#include <string>

#include "parti/model/module.h"

namespace parti::model {

template <typename T>
class Attention : public Module<T> {
 public:
  Attention(ParamTable& table, const std::string& prefix, int C, int NH);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  int C_;
  int NH_;
  int id_;
  int qkv_weight_, qkv_bias_, proj_weight_, proj_bias_;
};

}  // namespace parti::model
