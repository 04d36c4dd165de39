// Tensor-parallel linear layers (Megatron-core's ColumnParallelLinear and RowParallelLinear): a
// weight cut over the tp group, registered in the table with its cut, and the product with its
// conjugate mappings (mappings.h) in one object. A family's attention and MLP are compositions of
// these; they name neither a group nor a collective.
//
//   ColumnParallelLinear   W cut by output features: rank r holds out / tp of them (of each of
//                          `groups` stacked parts: GPT-2's fused c_attn holds its heads' q, k and
//                          v), and the bias likewise. forward reads every token (the sublayer's
//                          input() gathers it once under sp, for every column product that shares
//                          it: q, k, v; gate and up) and writes this rank's features; backward's
//                          input gradient is a partial sum, which the sublayer's add_input_grad()
//                          sums over tp once for all of them.
//   RowParallelLinear      W cut by input features: rank r reads its features of every token and
//                          writes a partial sum of the whole output, summed over tp in forward
//                          (all-reduce, or the reduce-scatter of this rank's tokens under sp); the
//                          bias is added once (tp rank 0) and is whole on every rank. backward
//                          gathers the output gradient (sp) and gives this rank's input features'
//                          gradient, complete.
//
// Under block partitioning (issue #21) both are the same layer: W cut by input features over the
// grid's rows and by output features over its columns, the products SUMMA's (summa.h).
//
// Weights are stored in a kernels::WeightLayout: in_out ((in, out): GPT-2's Conv1D) or out_in
// ((out, in): Hugging Face's Linear). Weight gradients may be deferred (pass.deferred: a
// zero-bubble schedule's W).
#pragma once

#include <string>

#include "parti/kernels/matmul.h"
#include "parti/model/module.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::parallel::tensor {

struct LinearShape {
  int in = 0, out = 0;  // the whole layer's features
  kernels::WeightLayout layout = kernels::WeightLayout::in_out;
  bool bias = true;
  model::Init init = model::Init::normal;  // of the weight (a bias starts at zero)
  int groups = 1;                          // column-parallel: stacked parts cut alike
};

template <typename T>
class ColumnParallelLinear {
 public:
  // Registers `name`.weight (and `name`.bias) in the table.
  ColumnParallelLinear(model::ParamTable& table, const std::string& name, const LinearShape& shape);
  int out_local() const { return out_local_; }  // this rank's output features
  // y (tokens, out_local) = x W_r + b_r; x: every token (in features), as input() gives it.
  void forward(const Pass<T>& pass, const T* x, T* y) const;
  // dx (tokens, in) += dy W_r^T, a partial sum over tp (null: not wanted); W_r's and b_r's
  // gradients from dy and x. `kept`: dy and x outlive a deferred W (not copied).
  void backward(const Pass<T>& pass, const T* dy, const T* x, T* dx, bool kept = false) const;

 private:
  LinearShape shape_;
  int out_local_;
  int weight_, bias_ = -1;
};

template <typename T>
class RowParallelLinear {
 public:
  RowParallelLinear(model::ParamTable& table, const std::string& name, const LinearShape& shape);
  int in_local() const { return in_local_; }  // this rank's input features
  // out (local tokens, out) = the sum over tp of x W_r (+ b once); x (tokens, in_local).
  void forward(const Pass<T>& pass, const T* x, T* out, Scratch<T>& scratch) const;
  // dx (tokens, in_local) += dout W_r^T from dout (local tokens, out), gathered under sp; W_r's
  // and b's gradients from it and x (tokens, in_local).
  void backward(const Pass<T>& pass, const T* dout, const T* x, T* dx, Scratch<T>& scratch) const;

 private:
  LinearShape shape_;
  int in_local_;
  int weight_, bias_ = -1;
};

// The input of the column-parallel products of a sublayer: every token (in, width features), by
// all-gather under sp (into scratch).
template <typename T>
const T* input(const Pass<T>& pass, const T* in, int width, Scratch<T>& scratch) {
  return tp_gather(pass, in, width, scratch);
}

// Where column-parallel backwards accumulate their partial input gradient (every token, width
// features): dinp itself at tp = 1, else zeros in scratch that add_input_grad() then sums over
// tp into dinp (all-reduce, or reduce-scatter of this rank's tokens under sp).
template <typename T>
T* input_grad(const Pass<T>& pass, T* dinp, int width, Scratch<T>& scratch) {
  return tp_size(pass) > 1 && !pass.block()
             ? scratch.alloc_zero(pass.tokens() * static_cast<size_t>(width))
             : dinp;
}
template <typename T>
void add_input_grad(const Pass<T>& pass, T* partial, T* dinp, int width, Scratch<T>& scratch) {
  if (tp_size(pass) > 1 && !pass.block()) {
    tp_add_input_grad(pass, partial, dinp, width, scratch);
  }
}

}  // namespace parti::parallel::tensor
