#include "parti/model/layernorm.h"

#include "parti/kernels/layernorm.h"

namespace parti::model {
namespace {
enum Saved { kInp, kMean, kRstd };
}  // namespace

template <typename T>
LayerNorm<T>::LayerNorm(ParamTable& table, const std::string& prefix, int C)
    : C_(C),
      id_(table.add_module()),
      weight_(table.add(prefix + ".weight", {C}, Init::ones, false)),
      bias_(table.add(prefix + ".bias", {C}, Init::zeros, false)) {}

template <typename T>
void LayerNorm<T>::forward(Pass<T>& pass, const T* in, T* out) {
  const int N = static_cast<int>(pass.tokens());
  T* mean = pass.arena.template alloc<T>(pass.tokens());
  T* rstd = pass.arena.template alloc<T>(pass.tokens());
  kernels::layernorm_forward<T>(out, mean, rstd, in, pass.param(weight_), pass.param(bias_), N, C_);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kMean, mean);
  pass.record.save(id_, kRstd, rstd);
}

template <typename T>
void LayerNorm<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  kernels::layernorm_backward<T>(dinp, pass.grad(weight_), pass.grad(bias_), dout,
                                 pass.record.get(id_, kInp), pass.param(weight_),
                                 pass.record.get(id_, kMean), pass.record.get(id_, kRstd),
                                 static_cast<int>(pass.tokens()), C_);
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace parti::model
