#include "parti/model/llama/block.h"

#include <algorithm>
#include <cstddef>

#include "parti/kernels/elementwise.h"

namespace parti::model::llama {

template <typename T>
Block<T>::Block(ParamTable& table, const std::string& prefix, const ModelConfig& cfg)
    : C_(cfg.dim),
      id_(table.add_module()),
      input_norm_(table, prefix + ".input_layernorm", cfg.dim, cfg.norm_eps),
      attn_(table, prefix + ".self_attn", cfg.dim, cfg.heads, cfg.key_value_heads(),
            cfg.rope_theta),
      post_attention_norm_(table, prefix + ".post_attention_layernorm", cfg.dim, cfg.norm_eps),
      mlp_(table, prefix + ".mlp", cfg.dim, cfg.hidden()) {}

template <typename T>
void Block<T>::forward(Pass<T>& pass, const T* in, T* out) {
  pass.record.save(id_, 0, in);
  if (pass.recompute == Recompute::full) {
    core::Arena::Scope dropped(pass.arena);  // backward runs forward again
    forward_body(pass, in, out);
    return;
  }
  forward_body(pass, in, out);
}

template <typename T>
void Block<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  // The layer's intermediate gradients (and recomputed activations) are freed at the end.
  core::Arena::Scope block_backward(pass.arena);
  if (pass.recompute == Recompute::full) {
    T* out = pass.arena.template alloc<T>(pass.local_tokens() * static_cast<size_t>(C_));
    forward_body(pass, pass.record.get(id_, 0), out);
  }
  backward_body(pass, dout, dinp);
}

template <typename T>
void Block<T>::forward_body(Pass<T>& pass, const T* in, T* out) {
  const size_t n = pass.local_tokens() * static_cast<size_t>(C_);
  T* a = pass.arena.template alloc<T>(n);   // input_layernorm(x)
  T* b = pass.arena.template alloc<T>(n);   // self_attn(.)
  T* x1 = pass.arena.template alloc<T>(n);  // residual stream after attention
  T* c = pass.arena.template alloc<T>(n);   // post_attention_layernorm(x1)
  input_norm_.forward(pass, in, a);
  attn_.forward(pass, a, b);
  kernels::add<T>(x1, in, b, n);
  post_attention_norm_.forward(pass, x1, c);
  mlp_.forward(pass, c, out);  // out = mlp(c), then the residual
  kernels::add_into<T>(out, x1, n);
}

template <typename T>
void Block<T>::backward_body(Pass<T>& pass, const T* dout, T* dinp) {
  const size_t n = pass.local_tokens() * static_cast<size_t>(C_);
  T* dc = pass.arena.template alloc_zero<T>(n);
  T* dx1 = pass.arena.template alloc<T>(n);
  T* da = pass.arena.template alloc_zero<T>(n);
  mlp_.backward(pass, dout, dc);
  std::copy(dout, dout + n, dx1);  // residual path
  post_attention_norm_.backward(pass, dc, dx1);
  attn_.backward(pass, dx1, da);
  kernels::add_into<T>(dinp, dx1, n);  // residual path
  input_norm_.backward(pass, da, dinp);
}

template class Block<float>;
template class Block<double>;

}  // namespace parti::model::llama
