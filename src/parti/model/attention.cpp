#include "parti/model/attention.h"

#include "parti/kernels/attention.h"
#include "parti/kernels/matmul.h"

namespace parti::model {
namespace {
enum Saved { kInp, kQkv, kAtt, kY };
constexpr auto kInOut = kernels::WeightLayout::in_out;
}  // namespace

template <typename T>
Attention<T>::Attention(ParamTable& table, const std::string& prefix, int C, int NH)
    : C_(C),
      NH_(NH),
      id_(table.add_module()),
      qkv_weight_(table.add(prefix + ".c_attn.weight", {C, 3 * C}, Init::normal, true)),
      qkv_bias_(table.add(prefix + ".c_attn.bias", {3 * C}, Init::zeros, false)),
      proj_weight_(table.add(prefix + ".c_proj.weight", {C, C}, Init::residual, true)),
      proj_bias_(table.add(prefix + ".c_proj.bias", {C}, Init::zeros, false)) {}

template <typename T>
void Attention<T>::forward(Pass<T>& pass, const T* in, T* out) {
  const int N = static_cast<int>(pass.tokens());
  const size_t BT = pass.tokens();
  T* qkv = pass.arena.template alloc<T>(BT * 3 * static_cast<size_t>(C_));
  T* att =
      pass.arena.template alloc<T>(static_cast<size_t>(pass.B) * static_cast<size_t>(NH_) *
                                   static_cast<size_t>(pass.Tn) * static_cast<size_t>(pass.Tn));
  T* y = pass.arena.template alloc<T>(BT * static_cast<size_t>(C_));
  kernels::matmul_forward<T>(qkv, in, pass.param(qkv_weight_), pass.param(qkv_bias_), N, C_, 3 * C_,
                             kInOut);
  kernels::attention_forward<T>(y, att, qkv, pass.B, pass.Tn, C_, NH_);
  kernels::matmul_forward<T>(out, y, pass.param(proj_weight_), pass.param(proj_bias_), N, C_, C_,
                             kInOut);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kQkv, qkv);
  pass.record.save(id_, kAtt, att);
  pass.record.save(id_, kY, y);
}

template <typename T>
void Attention<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const int N = static_cast<int>(pass.tokens());
  const size_t BT = pass.tokens();
  const T* qkv = pass.record.get(id_, kQkv);
  T* dy = pass.arena.template alloc_zero<T>(BT * static_cast<size_t>(C_));
  T* dqkv = pass.arena.template alloc_zero<T>(BT * 3 * static_cast<size_t>(C_));
  kernels::matmul_backward<T>(dy, pass.grad(proj_weight_), pass.grad(proj_bias_), dout,
                              pass.record.get(id_, kY), pass.param(proj_weight_), N, C_, C_,
                              kInOut);
  kernels::attention_backward<T>(dqkv, dy, qkv, pass.record.get(id_, kAtt), pass.B, pass.Tn, C_,
                                 NH_);
  kernels::matmul_backward<T>(dinp, pass.grad(qkv_weight_), pass.grad(qkv_bias_), dqkv,
                              pass.record.get(id_, kInp), pass.param(qkv_weight_), N, C_, 3 * C_,
                              kInOut);
}

template class Attention<float>;
template class Attention<double>;

}  // namespace parti::model
