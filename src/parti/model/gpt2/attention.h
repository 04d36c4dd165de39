// Causal self-attention sublayer (GPT-2 `attn`):
//   qkv = x c_attn + b   (B, T, 3C)     c_attn.weight (C, 3C)
//   y   = attention(qkv) (B, T, C)      softmax(q k^T / sqrt(HS)) v per head, causal
//   out = y c_proj + b   (B, T, C)      c_proj.weight (C, C), residual-scaled init
// Saves inp, qkv, att (B, NH, T, T) and y (att not under selective recomputation: backward
// recomputes it from qkv).
// Tensor-parallel (tp ranks): each rank holds NH / tp heads: c_attn's columns of its heads' q, k
// and v (column-parallel) and c_proj's matching rows (row-parallel); the output is all-reduced
// over tp in forward, the input gradient in backward. qkv, att and y are then the rank's heads.
// Context-parallel (pass.cp): the rank's tokens are two chunks of every sequence; attention runs
// around the cp ring (parallel/context/ring_attention.h) and saves the log-sum-exp (B, NH, T) in
// place of att.
// With a key/value cache (pass.kv, generation): the new tokens' k and v join the cache and their
// queries attend over every cached position; nothing is saved.
// Block-partitioned (a q x q grid): rank (i, j) holds NH / q heads (grid column j's) of its grid
// row's samples; attention stays on the rank.
#pragma once

#include <string>

#include "parti/model/module.h"
#include "parti/parallel/tensor/linear.h"

namespace parti::model::gpt2 {

template <typename T>
class Attention : public Module<T> {
 public:
  Attention(ParamTable& table, const std::string& prefix, int C, int NH);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  // Elements of the probabilities (B, NH, T, T), or under cp of the log-sum-exp (B, NH, T).
  size_t att_size(const Pass<T>& pass) const;
  // Forward with pass.kv (generation): appends the new tokens' keys and values, saves nothing.
  void cached_forward(Pass<T>& pass, const T* in, T* out);
  void ring_forward(Pass<T>& pass, T* y, T* lse, const T* qkv) const;
  void ring_backward(Pass<T>& pass, T* dqkv, const T* dy, const T* qkv, const T* y,
                     const T* lse) const;
  int C_;
  int NH_;  // heads on this rank
  int Cl_;  // their width: C / tp
  int id_;
  parallel::tensor::ColumnParallelLinear<T> qkv_;  // c_attn: this rank's heads' q, k and v
  parallel::tensor::RowParallelLinear<T> proj_;    // c_proj: its rows of those heads
};

}  // namespace parti::model::gpt2
