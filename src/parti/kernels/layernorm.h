// LayerNorm over the last dim: y = (x - mean) * rstd * weight + bias, rstd = 1/sqrt(var + 1e-5)
// with the biased variance (as torch.nn.LayerNorm). N rows of C.
#pragma once

#include <cstddef>
#include <functional>

namespace parti::kernels {

constexpr double kLayerNormEps = 1e-5;

// out (N, C), mean (N), rstd (N) saved for backward
template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                       int N, int C);

// dinp (N, C) +=, dweight (C) +=, dbias (C) +=
template <typename T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                        const T* mean, const T* rstd, int N, int C);

// The same for rows whose C columns are one part of a width of Cw cut by columns (block
// partitioning, issue #21): `sum_rows(data, n)` sums n per-row statistics over the parts (the
// caller's all-reduce). dweight and dbias are this part's rows' sums, as above.
template <typename T>
using RowSum = std::function<void(T* data, size_t n)>;
template <typename T>
void layernorm_forward_split(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                             int N, int C, int Cw, const RowSum<T>& sum_rows);
template <typename T>
void layernorm_backward_split(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                              const T* weight, const T* mean, const T* rstd, int N, int C, int Cw,
                              const RowSum<T>& sum_rows);

}  // namespace parti::kernels
