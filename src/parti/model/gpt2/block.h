// Transformer block, pre-LayerNorm (GPT-2 `h.<l>`):
//   x1  = x  + attn(ln_1(x))
//   out = x1 + mlp(ln_2(x1))
// Backward visits the children in exact reverse order. With full recomputation the block keeps
// only its input: forward's buffers are freed when it returns and rebuilt by running forward
// again at the start of backward (same kernels, same order: bit-identical).
#pragma once

#include <string>

#include "parti/model/gpt2/attention.h"
#include "parti/model/gpt2/layernorm.h"
#include "parti/model/gpt2/mlp.h"

namespace parti::model::gpt2 {

template <typename T>
class Block : public Module<T> {
 public:
  Block(ParamTable& table, const std::string& prefix, int C, int NH);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  void forward_body(Pass<T>& pass, const T* in, T* out);
  void backward_body(Pass<T>& pass, const T* dout, T* dinp);
  int C_;
  int id_;
  LayerNorm<T> ln_1_;
  Attention<T> attn_;
  LayerNorm<T> ln_2_;
  Mlp<T> mlp_;
};

}  // namespace parti::model::gpt2
