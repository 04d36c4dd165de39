#include "parti/model/gpt2/layernorm.h"

#include "parti/kernels/elementwise.h"
#include "parti/model/deferred_grads.h"
#include "parti/parallel/tensor/grid_norm.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::model::gpt2 {
using namespace parallel::tensor;  // the mappings: a model family writes no collective
namespace {
enum Saved { kInp, kMean, kRstd };
// Whole on every rank in 1D; cut like the residual width over a grid's columns.
constexpr TpCut kWidthCut{.col_dim = 0};
}  // namespace

template <typename T>
LayerNorm<T>::LayerNorm(ParamTable& table, const std::string& prefix, int C)
    : C_(C),
      id_(table.add_module()),
      weight_(table.add(prefix + ".weight", {C}, Init::ones, false, -1, kWidthCut)),
      bias_(table.add(prefix + ".bias", {C}, Init::zeros, false, -1, kWidthCut)) {}

template <typename T>
void LayerNorm<T>::forward(Pass<T>& pass, const T* in, T* out) {
  const int N = static_cast<int>(pass.local_tokens());
  T* mean = pass.arena.template alloc<T>(pass.local_tokens());
  T* rstd = pass.arena.template alloc<T>(pass.local_tokens());
  layernorm_forward<T>(pass, out, mean, rstd, in, pass.param(weight_), pass.param(bias_), N, C_);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kMean, mean);
  pass.record.save(id_, kRstd, rstd);
}

template <typename T>
void LayerNorm<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const int N = static_cast<int>(pass.local_tokens());
  const bool partial = tp_partial_param_grads(pass) && tp_size(pass) > 1;
  // Sequence parallel or a grid: this rank's tokens give a partial weight gradient, summed over
  // the ranks holding the same part.
  // Under a deferred backward (zero-bubble I) the gradients go to zeros W adds in.
  Scratch<T> scratch(pass);
  const auto C = static_cast<size_t>(pass.local_width(C_));
  const auto [dweight, dbias] = norm_grads(pass, weight_, bias_, C);
  T* dw = partial ? scratch.alloc_zero(2 * C) : dweight;
  T* db = partial ? dw + C : dbias;
  layernorm_backward<T>(pass, dinp, dw, db, dout, pass.record.get(id_, kInp), pass.param(weight_),
                        pass.record.get(id_, kMean), pass.record.get(id_, kRstd), N, C_);
  if (partial) {
    tp_reduce_param_grad(pass, dw, 2 * C);
    kernels::add_into<T>(dweight, dw, C);
    kernels::add_into<T>(dbias, db, C);
  }
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace parti::model::gpt2
