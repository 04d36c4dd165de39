#include "parti/model/llama/rmsnorm.h"

#include "parti/kernels/elementwise.h"
#include "parti/model/deferred_grads.h"
#include "parti/parallel/tensor/grid_norm.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::model::llama {
using namespace parallel::tensor;  // the mappings: a model family writes no collective
namespace {
enum Saved { kInp, kRstd };
// Whole on every rank in 1D; cut like the residual width over a grid's columns.
constexpr TpCut kWidthCut{.col_dim = 0};
}  // namespace

template <typename T>
RmsNorm<T>::RmsNorm(ParamTable& table, const std::string& name, int C, double eps)
    : C_(C),
      eps_(eps),
      id_(table.add_module()),
      weight_(table.add(name + ".weight", {C}, Init::ones, false, -1, kWidthCut)) {}

template <typename T>
void RmsNorm<T>::forward(Pass<T>& pass, const T* in, T* out) {
  T* rstd = pass.arena.template alloc<T>(pass.local_tokens());
  rmsnorm_forward<T>(pass, out, rstd, in, pass.param(weight_),
                     static_cast<int>(pass.local_tokens()), C_, eps_);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kRstd, rstd);
}

template <typename T>
void RmsNorm<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  // Sequence parallel or a grid: this rank's tokens give a partial weight gradient, summed over
  // the ranks holding the same part.
  // Under a deferred backward (zero-bubble I) the gradient goes to zeros W adds in.
  const bool partial = tp_partial_param_grads(pass) && tp_size(pass) > 1;
  Scratch<T> scratch(pass);
  const auto C = static_cast<size_t>(pass.local_width(C_));
  T* dweight = norm_grads(pass, weight_, -1, C).first;
  T* dw = partial ? scratch.alloc_zero(C) : dweight;
  rmsnorm_backward<T>(pass, dinp, dw, dout, pass.record.get(id_, kInp), pass.param(weight_),
                      pass.record.get(id_, kRstd), static_cast<int>(pass.local_tokens()), C_);
  if (partial) {
    tp_reduce_param_grad(pass, dw, C);
    kernels::add_into<T>(dweight, dw, C);
  }
}

template class RmsNorm<float>;
template class RmsNorm<double>;

}  // namespace parti::model::llama
