#include "parti/model/mlp.h"

#include "parti/kernels/gelu.h"
#include "parti/kernels/matmul.h"

namespace parti::model {
namespace {
enum Saved { kInp, kH, kG };
constexpr auto kInOut = kernels::WeightLayout::in_out;
}  // namespace

template <typename T>
Mlp<T>::Mlp(ParamTable& table, const std::string& prefix, int C)
    : C_(C),
      id_(table.add_module()),
      fc_weight_(table.add(prefix + ".c_fc.weight", {C, 4 * C}, Init::normal, true)),
      fc_bias_(table.add(prefix + ".c_fc.bias", {4 * C}, Init::zeros, false)),
      proj_weight_(table.add(prefix + ".c_proj.weight", {4 * C, C}, Init::residual, true)),
      proj_bias_(table.add(prefix + ".c_proj.bias", {C}, Init::zeros, false)) {}

template <typename T>
void Mlp<T>::forward(Pass<T>& pass, const T* in, T* out) {
  const int N = static_cast<int>(pass.tokens());
  const size_t hidden = pass.tokens() * 4 * static_cast<size_t>(C_);
  T* h = pass.arena.template alloc<T>(hidden);
  T* g = pass.arena.template alloc<T>(hidden);
  kernels::matmul_forward<T>(h, in, pass.param(fc_weight_), pass.param(fc_bias_), N, C_, 4 * C_,
                             kInOut);
  kernels::gelu_forward<T>(g, h, hidden);
  kernels::matmul_forward<T>(out, g, pass.param(proj_weight_), pass.param(proj_bias_), N, 4 * C_,
                             C_, kInOut);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kH, h);
  pass.record.save(id_, kG, g);
}

template <typename T>
void Mlp<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const int N = static_cast<int>(pass.tokens());
  const size_t hidden = pass.tokens() * 4 * static_cast<size_t>(C_);
  T* dg = pass.arena.template alloc_zero<T>(hidden);
  T* dh = pass.arena.template alloc_zero<T>(hidden);
  kernels::matmul_backward<T>(dg, pass.grad(proj_weight_), pass.grad(proj_bias_), dout,
                              pass.record.get(id_, kG), pass.param(proj_weight_), N, 4 * C_, C_,
                              kInOut);
  kernels::gelu_backward<T>(dh, pass.record.get(id_, kH), dg, hidden);
  kernels::matmul_backward<T>(dinp, pass.grad(fc_weight_), pass.grad(fc_bias_), dh,
                              pass.record.get(id_, kInp), pass.param(fc_weight_), N, C_, 4 * C_,
                              kInOut);
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace parti::model
