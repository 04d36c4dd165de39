#include "parti/model/gpt2/mlp.h"

#include "parti/kernels/gelu.h"
#include "parti/kernels/matmul.h"
#include "parti/model/deferred_grads.h"
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
      H_(4 * C / table.tp().size),
      id_(table.add_module()),
      fc_weight_(table.add(prefix + ".c_fc.weight", {C, 4 * C}, Init::normal, true, -1, {1, 1})),
      fc_bias_(table.add(prefix + ".c_fc.bias", {4 * C}, Init::zeros, false, -1, {0, 1})),
      proj_weight_(
          table.add(prefix + ".c_proj.weight", {4 * C, C}, Init::residual, true, -1, {0, 1})),
      proj_bias_(table.add(prefix + ".c_proj.bias", {C}, Init::zeros, false)) {}

template <typename T>
void Mlp<T>::forward(Pass<T>& pass, const T* in, T* out) {
  const int N = static_cast<int>(pass.tokens());
  const size_t hidden = pass.tokens() * static_cast<size_t>(H_);
  Scratch<T> scratch(pass);
  const T* x = tp_gather(pass, in, C_, scratch);
  T* h = pass.arena.template alloc<T>(hidden);
  T* g = pass.arena.template alloc<T>(hidden);
  kernels::matmul_forward<T>(h, x, pass.param(fc_weight_), pass.param(fc_bias_), N, C_, H_, kInOut);
  kernels::gelu_forward<T>(g, h, hidden);
  const bool bias = pass.table.tp().index == 0;  // row-parallel: the bias once, then g
  T* partial = tp_partial_output(pass, out, C_, scratch);
  kernels::matmul_forward<T>(partial, g, pass.param(proj_weight_),
                             bias ? pass.param(proj_bias_) : nullptr, N, H_, C_, kInOut);
  tp_reduce_output(pass, partial, out, C_);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kH, h);
  pass.record.save(id_, kG, g);
}

template <typename T>
void Mlp<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const int N = static_cast<int>(pass.tokens());
  const size_t hidden = pass.tokens() * static_cast<size_t>(H_);
  const size_t n = pass.tokens() * static_cast<size_t>(C_);
  T* dg = pass.arena.template alloc_zero<T>(hidden);
  T* dh = pass.arena.template alloc_zero<T>(hidden);
  Scratch<T> scratch(pass);
  const T* d = tp_gather(pass, dout, C_, scratch);
  linear_backward(pass, dg, proj_weight_, proj_bias_, d, pass.record.get(id_, kG), N, H_, C_,
                  kInOut);
  kernels::gelu_backward<T>(dh, pass.record.get(id_, kH), dg, hidden);
  const bool tp = tp_size(pass) > 1;  // f: a partial input gradient, summed over tp
  const T* x = tp_gather(pass, pass.record.get(id_, kInp), C_, scratch);
  T* dx = tp ? scratch.alloc_zero(n) : dinp;
  linear_backward(pass, dx, fc_weight_, fc_bias_, dh, x, N, C_, H_, kInOut);
  if (tp) {
    tp_add_input_grad(pass, dx, dinp, C_, scratch);
  }
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace parti::model::gpt2
