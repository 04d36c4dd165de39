// A pre-norm transformer layer, the shape GPT-2 and Llama share:
//   x1  = x  + attn(norm_1(x))
//   out = x1 + mlp(norm_2(x1))
// A family's layer derives from it, builds its four children (in its own parameter order) and
// hands them over with set_children. Backward visits the children in exact reverse order. With
// full recomputation the layer keeps only its input: forward's buffers are freed when it returns
// and rebuilt by running forward again at the start of backward (same kernels, same order:
// bit-identical). The layer's intermediate gradients are freed when its backward ends, so
// backward holds one layer's at a time.
#pragma once

#include <algorithm>
#include <cstddef>

#include "parti/kernels/elementwise.h"
#include "parti/model/module.h"

namespace parti::model {

template <typename T>
class PreNormBlock : public Module<T> {
 public:
  void forward(Pass<T>& pass, const T* in, T* out) override {
    pass.record.save(id_, 0, in);
    if (pass.recompute == Recompute::full) {
      core::Arena::Scope dropped(pass.arena);  // backward runs forward again
      forward_body(pass, in, out);
      return;
    }
    forward_body(pass, in, out);
  }
  void backward(Pass<T>& pass, const T* dout, T* dinp) override {
    core::Arena::Scope layer_backward(pass.arena);
    if (pass.recompute == Recompute::full) {
      T* out = pass.arena.template alloc<T>(pass.local_numel(C_));
      forward_body(pass, pass.record.get(id_, 0), out);
    }
    backward_body(pass, dout, dinp);
  }

 protected:
  // Takes the layer's record slot first (before the children register theirs).
  PreNormBlock(ParamTable& table, int C) : C_(C), id_(table.add_module()) {}
  void set_children(Module<T>& norm_1, Module<T>& attn, Module<T>& norm_2, Module<T>& mlp) {
    norm_1_ = &norm_1;
    attn_ = &attn;
    norm_2_ = &norm_2;
    mlp_ = &mlp;
  }

 private:
  void forward_body(Pass<T>& pass, const T* in, T* out) {
    const size_t n = pass.local_numel(C_);
    T* a = pass.arena.template alloc<T>(n);   // norm_1(x)
    T* b = pass.arena.template alloc<T>(n);   // attn(.)
    T* x1 = pass.arena.template alloc<T>(n);  // residual stream after attention
    T* c = pass.arena.template alloc<T>(n);   // norm_2(x1)
    norm_1_->forward(pass, in, a);
    attn_->forward(pass, a, b);
    kernels::add<T>(x1, in, b, n);
    norm_2_->forward(pass, x1, c);
    mlp_->forward(pass, c, out);  // out = mlp(c), then the residual
    kernels::add_into<T>(out, x1, n);
  }
  void backward_body(Pass<T>& pass, const T* dout, T* dinp) {
    const size_t n = pass.local_numel(C_);
    T* dc = pass.arena.template alloc_zero<T>(n);
    T* dx1 = pass.arena.template alloc<T>(n);
    T* da = pass.arena.template alloc_zero<T>(n);
    mlp_->backward(pass, dout, dc);
    std::copy(dout, dout + n, dx1);  // residual path
    norm_2_->backward(pass, dc, dx1);
    attn_->backward(pass, dx1, da);
    kernels::add_into<T>(dinp, dx1, n);  // residual path
    norm_1_->backward(pass, da, dinp);
  }
  int C_;
  int id_;
  Module<T>* norm_1_ = nullptr;
  Module<T>* attn_ = nullptr;
  Module<T>* norm_2_ = nullptr;
  Module<T>* mlp_ = nullptr;
};

}  // namespace parti::model
