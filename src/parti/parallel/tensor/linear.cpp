#include "parti/parallel/tensor/linear.h"

#include "parti/model/deferred_grads.h"
#include "parti/parallel/tensor/summa.h"

namespace parti::parallel::tensor {
namespace {

using kernels::WeightLayout;

// The stored shape of a weight of `in` x `out` features.
std::vector<int64_t> weight_shape(const LinearShape& s) {
  return s.layout == WeightLayout::in_out ? std::vector<int64_t>{s.in, s.out}
                                          : std::vector<int64_t>{s.out, s.in};
}

// The dimension of the stored weight that holds the output (or input) features.
int out_dim(const LinearShape& s) { return s.layout == WeightLayout::in_out ? 1 : 0; }
int in_dim(const LinearShape& s) { return 1 - out_dim(s); }

// The cut of a weight whose 1D cut is along `dim1d`: on the grid, inputs over rows, outputs over
// columns (the same for column- and row-parallel layers).
model::TpCut weight_cut(const LinearShape& s, int dim1d) {
  return {dim1d, dim1d == out_dim(s) ? s.groups : 1, out_dim(s), in_dim(s)};
}

void check_grid(const model::ParamTable& table, const std::string& name, const LinearShape& s) {
  const int q = table.tp().grid;
  PARTI_ASSERT(!table.tp().block() || (s.in % q == 0 && s.out % (q * s.groups) == 0), name, ": ",
               s.in, " x ", s.out, " (", s.groups, " parts) on a ", q, " x ", q, " grid");
}

}  // namespace

template <typename T>
ColumnParallelLinear<T>::ColumnParallelLinear(model::ParamTable& table, const std::string& name,
                                              const LinearShape& shape)
    : shape_(shape),
      out_local_(shape.out / table.tp().feature_parts()),
      weight_(table.add(name + ".weight", weight_shape(shape), shape.init, true, -1,
                        weight_cut(shape, out_dim(shape)))) {
  PARTI_ASSERT(shape.out % (table.tp().feature_parts() * shape.groups) == 0, name, ": ", shape.out,
               " output features in ", shape.groups, " parts over tp ", table.tp().size);
  check_grid(table, name, shape);
  if (shape.bias) {
    bias_ =
        table.add(name + ".bias", {shape.out}, model::Init::zeros, false, -1, {0, shape.groups, 0});
  }
}

template <typename T>
void ColumnParallelLinear<T>::forward(const Pass<T>& pass, const T* x, T* y) const {
  if (pass.block()) {
    summa_forward(pass, shape_, weight_, bias_, x, y);
    return;
  }
  kernels::matmul_forward<T>(y, x, pass.param(weight_), bias_ >= 0 ? pass.param(bias_) : nullptr,
                             static_cast<int>(pass.tokens()), shape_.in, out_local_, shape_.layout);
}

template <typename T>
void ColumnParallelLinear<T>::backward(const Pass<T>& pass, const T* dy, const T* x, T* dx,
                                       bool kept) const {
  if (pass.block()) {
    summa_backward(pass, shape_, weight_, bias_, dy, x, dx);
    return;
  }
  model::linear_backward(pass, dx, weight_, bias_, dy, x, static_cast<int>(pass.tokens()),
                         shape_.in, out_local_, shape_.layout, kept);
}

template <typename T>
RowParallelLinear<T>::RowParallelLinear(model::ParamTable& table, const std::string& name,
                                        const LinearShape& shape)
    : shape_(shape),
      in_local_(shape.in / table.tp().feature_parts()),
      weight_(table.add(name + ".weight", weight_shape(shape), shape.init, true, -1,
                        weight_cut(shape, in_dim(shape)))) {
  PARTI_ASSERT(shape.in % table.tp().feature_parts() == 0, name, ": ", shape.in,
               " input features over tp ", table.tp().size);
  PARTI_ASSERT(shape.groups == 1, name, ": a row-parallel layer has one part");
  check_grid(table, name, shape);
  if (shape.bias) {  // whole on every rank in 1D; the grid columns' parts on the grid
    bias_ = table.add(name + ".bias", {shape.out}, model::Init::zeros, false, -1, {-1, 1, 0});
  }
}

template <typename T>
void RowParallelLinear<T>::forward(const Pass<T>& pass, const T* x, T* out,
                                   Scratch<T>& scratch) const {
  if (pass.block()) {
    summa_forward(pass, shape_, weight_, bias_, x, out);
    return;
  }
  // The bias once (tp rank 0), then the partial sums add up to x W + b.
  const bool bias = bias_ >= 0 && pass.table.tp().index == 0;
  T* partial = tp_partial_output(pass, out, shape_.out, scratch);
  kernels::matmul_forward<T>(partial, x, pass.param(weight_), bias ? pass.param(bias_) : nullptr,
                             static_cast<int>(pass.tokens()), in_local_, shape_.out, shape_.layout);
  tp_reduce_output(pass, partial, out, shape_.out);
}

template <typename T>
void RowParallelLinear<T>::backward(const Pass<T>& pass, const T* dout, const T* x, T* dx,
                                    Scratch<T>& scratch) const {
  if (pass.block()) {
    summa_backward(pass, shape_, weight_, bias_, dout, x, dx);
    return;
  }
  const T* d = tp_gather(pass, dout, shape_.out, scratch);
  model::linear_backward(pass, dx, weight_, bias_, d, x, static_cast<int>(pass.tokens()), in_local_,
                         shape_.out, shape_.layout);
}

template class ColumnParallelLinear<float>;
template class ColumnParallelLinear<double>;
template class RowParallelLinear<float>;
template class RowParallelLinear<double>;

}  // namespace parti::parallel::tensor
