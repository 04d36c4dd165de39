#include "parti/model/llama/mlp.h"

#include "parti/kernels/swiglu.h"

namespace parti::model::llama {
using namespace parallel::tensor;  // the linear layers: a model family writes no collective
namespace {
enum Saved { kInp, kGate, kUp, kH };
constexpr auto kOutIn = kernels::WeightLayout::out_in;
}  // namespace

template <typename T>
Mlp<T>::Mlp(ParamTable& table, const std::string& prefix, int C, int ffn)
    : C_(C),
      id_(table.add_module()),
      gate_(table, prefix + ".gate_proj", {.in = C, .out = ffn, .layout = kOutIn, .bias = false}),
      up_(table, prefix + ".up_proj", {.in = C, .out = ffn, .layout = kOutIn, .bias = false}),
      down_(table, prefix + ".down_proj",
            {.in = ffn, .out = C, .layout = kOutIn, .bias = false, .init = Init::residual}) {}

template <typename T>
void Mlp<T>::forward(Pass<T>& pass, const T* in, T* out) {
  const size_t hidden = pass.product_tokens() * static_cast<size_t>(gate_.out_local());
  Scratch<T> scratch(pass);
  const T* x = input(pass, in, C_, scratch);
  T* g = pass.arena.template alloc<T>(hidden);
  T* u = pass.arena.template alloc<T>(hidden);
  T* h = pass.arena.template alloc<T>(hidden);
  gate_.forward(pass, x, g);
  up_.forward(pass, x, u);
  kernels::swiglu_forward<T>(h, g, u, hidden);
  down_.forward(pass, h, out, scratch);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kGate, g);
  pass.record.save(id_, kUp, u);
  pass.record.save(id_, kH, h);
}

template <typename T>
void Mlp<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const size_t hidden = pass.product_tokens() * static_cast<size_t>(gate_.out_local());
  T* dh = pass.arena.template alloc_zero<T>(hidden);
  T* dg = pass.arena.template alloc_zero<T>(hidden);
  T* du = pass.arena.template alloc_zero<T>(hidden);
  Scratch<T> scratch(pass);
  down_.backward(pass, dout, pass.record.get(id_, kH), dh, scratch);
  kernels::swiglu_backward<T>(dg, du, dh, pass.record.get(id_, kGate), pass.record.get(id_, kUp),
                              hidden);
  // f: the partial input gradients of gate and up, summed over tp once.
  const T* x = input(pass, pass.record.get(id_, kInp), C_, scratch);
  T* dx = input_grad(pass, dinp, C_, scratch);
  gate_.backward(pass, dg, x, dx);
  up_.backward(pass, du, x, dx);
  add_input_grad(pass, dx, dinp, C_, scratch);
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace parti::model::llama
