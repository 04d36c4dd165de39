// Causal self-attention sublayer (GPT-2 `attn`):
//   qkv = x c_attn + b   (B, T, 3C)     c_attn.weight (C, 3C)
//   y   = attention(qkv) (B, T, C)      softmax(q k^T / sqrt(HS)) v per head, causal
//   out = y c_proj + b   (B, T, C)      c_proj.weight (C, C), residual-scaled init
// Saves inp, qkv, att (B, NH, T, T) and y (att not under selective recomputation: backward
// recomputes it from qkv).
// Tensor-parallel (tp ranks): each rank holds NH / tp heads: c_attn's columns of its heads' q, k
// and v (column-parallel) and c_proj's matching rows (row-parallel); the output is all-reduced
// over tp in forward, the input gradient in backward. qkv, att and y are then the rank's heads.
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
  size_t att_size(const Pass<T>& pass) const;  // elements of the probabilities (B, NH, T, T)
  int C_;
  int NH_;  // heads on this rank
  int Cl_;  // their width: C / tp
  int id_;
  int qkv_weight_, qkv_bias_, proj_weight_, proj_bias_;
};

}  // namespace parti::model
