#include "parti/model/gpt2/mlp.h"

#include "parti/kernels/gelu.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::model::gpt2 {
using namespace parallel::tensor;  // the mappings: a model family writes no collective
namespace {
enum Saved { kInp, kH, kG };
constexpr auto kInOut = kernels::WeightLayout::in_out;
}  // namespace

template <typename T>
Mlp<T>::Mlp(ParamTable& table, const std::string& prefix, int C)
    : C_(C),
      H_(4 * C / table.tp().feature_parts()),
      id_(table.add_module()),
      fc_(table, prefix + ".c_fc", {.in = C, .out = 4 * C, .layout = kInOut, .init = Init::normal}),
      proj_(table, prefix + ".c_proj",
            {.in = 4 * C, .out = C, .layout = kInOut, .init = Init::residual}) {}

template <typename T>
void Mlp<T>::forward(Pass<T>& pass, const T* in, T* out) {
  const size_t hidden = pass.product_tokens() * static_cast<size_t>(H_);
  Scratch<T> scratch(pass);
  const T* x = input(pass, in, C_, scratch);
  T* h = pass.arena.template alloc<T>(hidden);
  T* g = pass.arena.template alloc<T>(hidden);
  fc_.forward(pass, x, h);
  kernels::gelu_forward<T>(g, h, hidden);
  proj_.forward(pass, g, out, scratch);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kH, h);
  pass.record.save(id_, kG, g);
}

template <typename T>
void Mlp<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const size_t hidden = pass.product_tokens() * static_cast<size_t>(H_);
  T* dg = pass.arena.template alloc_zero<T>(hidden);
  T* dh = pass.arena.template alloc_zero<T>(hidden);
  Scratch<T> scratch(pass);
  proj_.backward(pass, dout, pass.record.get(id_, kG), dg, scratch);
  kernels::gelu_backward<T>(dh, pass.record.get(id_, kH), dg, hidden);
  // f: a partial input gradient, summed over tp.
  const T* x = input(pass, pass.record.get(id_, kInp), C_, scratch);
  T* dx = input_grad(pass, dinp, C_, scratch);
  fc_.backward(pass, dh, x, dx);
  add_input_grad(pass, dx, dinp, C_, scratch);
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace parti::model::gpt2
