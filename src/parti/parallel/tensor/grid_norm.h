// The norms of a family (LayerNorm, RMSNorm) over rows whose width is cut over the grid's
// columns (block partitioning, issue #21): each rank normalises its part of every row with
// statistics summed along its grid row (one all-reduce of N per statistic, forward and
// backward). The weight (and bias) are the rank's column part, their gradients this rank's
// tokens' share (the family sums them over the grid column: tp_reduce_param_grad). Without block
// partitioning these are the kernels themselves.
#pragma once

#include "parti/model/module.h"

namespace parti::parallel::tensor {

using model::Pass;

// out, mean, rstd as kernels::layernorm_forward; N rows of C, of which this rank holds
// pass.local_width(C) columns.
template <typename T>
void layernorm_forward(const Pass<T>& pass, T* out, T* mean, T* rstd, const T* inp, const T* weight,
                       const T* bias, int N, int C);
template <typename T>
void layernorm_backward(const Pass<T>& pass, T* dinp, T* dweight, T* dbias, const T* dout,
                        const T* inp, const T* weight, const T* mean, const T* rstd, int N, int C);

template <typename T>
void rmsnorm_forward(const Pass<T>& pass, T* out, T* rstd, const T* inp, const T* weight, int N,
                     int C, double eps);
// dinp or dweight may be null (not computed), as in kernels::rmsnorm_backward.
template <typename T>
void rmsnorm_backward(const Pass<T>& pass, T* dinp, T* dweight, const T* dout, const T* inp,
                      const T* weight, const T* rstd, int N, int C);

}  // namespace parti::parallel::tensor
