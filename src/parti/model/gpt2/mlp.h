// MLP sublayer (GPT-2 `mlp`): h = x c_fc + b (B, T, 4C); g = gelu_tanh(h); out = g c_proj + b.
// c_fc.weight (C, 4C), c_proj.weight (4C, C) with the residual-scaled init. Saves inp, h, g.
// Tensor-parallel: c_fc's columns and c_proj's rows of this rank's 4C / tp hidden units (column-
// then row-parallel); h and g are this rank's part; the output is all-reduced over tp in forward,
// the input gradient in backward. Block-partitioned (a q x q grid): the same code on the grid's
// blocks; h and g are this rank's samples by its hidden units.
#pragma once

#include <string>

#include "parti/model/module.h"
#include "parti/parallel/tensor/linear.h"

namespace parti::model::gpt2 {

template <typename T>
class Mlp : public Module<T> {
 public:
  Mlp(ParamTable& table, const std::string& prefix, int C);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  int C_;
  int H_;  // hidden units on this rank: 4C / tp (on a q x q grid: 4C / q)
  int id_;
  parallel::tensor::ColumnParallelLinear<T> fc_;  // c_fc: this rank's hidden units
  parallel::tensor::RowParallelLinear<T> proj_;   // c_proj: their rows
};

}  // namespace parti::model::gpt2
