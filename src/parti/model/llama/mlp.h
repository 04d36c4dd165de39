// SwiGLU MLP (Llama `mlp`): out = down(silu(gate(x)) * up(x)), no biases; gate_proj and up_proj
// (ffn, C), down_proj (C, ffn), Hugging Face's (out, in) layout. Saves inp, gate, up and h.
// Tensor-parallel: gate and up column-parallel (this rank's ffn / tp hidden units), down
// row-parallel.
#pragma once

#include <string>

#include "parti/model/module.h"
#include "parti/parallel/tensor/linear.h"

namespace parti::model::llama {

template <typename T>
class Mlp : public Module<T> {
 public:
  Mlp(ParamTable& table, const std::string& prefix, int C, int ffn);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  int C_;
  int id_;
  parallel::tensor::ColumnParallelLinear<T> gate_, up_;
  parallel::tensor::RowParallelLinear<T> down_;
};

}  // namespace parti::model::llama
