#include "parti/model/gpt2/block.h"

#include <algorithm>
#include <cstddef>

#include "parti/kernels/elementwise.h"

namespace parti::model::gpt2 {

template <typename T>
Block<T>::Block(ParamTable& table, const std::string& prefix, int C, int NH)
    : C_(C),
      id_(table.add_module()),
      ln_1_(table, prefix + ".ln_1", C),
      attn_(table, prefix + ".attn", C, NH),
      ln_2_(table, prefix + ".ln_2", C),
      mlp_(table, prefix + ".mlp", C) {}

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
  // The block's gradients of its intermediate tensors are dead once dinp is complete: freed at
  // the end (recomputed activations with them), so backward holds one block's at a time.
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
  T* a = pass.arena.template alloc<T>(n);   // ln_1(x)
  T* b = pass.arena.template alloc<T>(n);   // attn(.)
  T* x1 = pass.arena.template alloc<T>(n);  // residual stream after attention
  T* c = pass.arena.template alloc<T>(n);   // ln_2(x1)
  ln_1_.forward(pass, in, a);
  attn_.forward(pass, a, b);
  kernels::add<T>(x1, in, b, n);
  ln_2_.forward(pass, x1, c);
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
  ln_2_.backward(pass, dc, dx1);
  attn_.backward(pass, dx1, da);
  kernels::add_into<T>(dinp, dx1, n);  // residual path
  ln_1_.backward(pass, da, dinp);
}

template class Block<float>;
template class Block<double>;

}  // namespace parti::model::gpt2
