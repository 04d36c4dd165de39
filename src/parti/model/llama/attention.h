// Causal self-attention with grouped-query heads and rotary positions (Llama `self_attn`):
//   q = x Wq (NH heads of hd), k = x Wk, v = x Wv (KV heads each)   q_proj (NH hd, C), k_proj and
//                                                                  v_proj (KV hd, C), (out, in)
//   q, k turned by RoPE at each token's global position (rope.h, theta from the config)
//   y = softmax(mask(q k^T / sqrt(hd))) v per query head, key/value head h / (NH / KV)
//   out = y Wo                                                     o_proj (C, NH hd)
// No biases. Saves inp, the packed qkv (turned; a key/value head per query head, gqa.h), att
// (B, NH, T, T) and y (att not under selective recomputation; under context parallelism the
// log-sum-exp (B, NH, T) instead, attention running around the cp ring).
// With a key/value cache (pass.kv, generation): see kv_cache.h.
// Tensor-parallel: each rank holds NH / tp query heads and KV / tp key/value heads (tp divides
// KV): q, k, v column-parallel, o row-parallel.
#pragma once

#include <string>

#include "parti/model/module.h"
#include "parti/parallel/tensor/linear.h"

namespace parti::model::llama {

template <typename T>
class Attention : public Module<T> {
 public:
  Attention(ParamTable& table, const std::string& prefix, int C, int NH, int KV, double theta);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  size_t att_size(const Pass<T>& pass) const;
  // Forward with pass.kv (generation): the new tokens' turned k and v go straight into the
  // cache (KV heads, not repeated); saves nothing.
  void cached_forward(Pass<T>& pass, const T* in, T* out);
  // The attention core on the packed heads (fused kernels or the cp ring), att: probabilities or
  // the log-sum-exp.
  void core_forward(Pass<T>& pass, T* y, T* att, const T* qkv) const;
  void core_backward(Pass<T>& pass, T* dqkv, const T* dy, const T* qkv, const T* y,
                     parallel::tensor::Scratch<T>& scratch) const;
  int C_, hd_;
  int NH_, KV_;  // heads on this rank: NH / tp query heads, KV / tp key/value heads
  double theta_;
  int id_;
  parallel::tensor::ColumnParallelLinear<T> q_, k_, v_;
  parallel::tensor::RowParallelLinear<T> o_;
};

}  // namespace parti::model::llama
