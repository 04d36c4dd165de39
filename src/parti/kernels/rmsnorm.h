// RMSNorm (Zhang & Sennrich 2019), as Llama uses it: out = x * rstd * weight with
// rstd = 1 / sqrt(mean(x^2) + eps) per row (no mean subtracted, no bias).
#pragma once

#include <cstddef>
#include <functional>

namespace parti::kernels {

// out (N, C), rstd (N) saved for backward.
template <typename T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C, double eps);

// dinp (N, C) +=; dweight (C) += sum over rows of dout * x * rstd, the total added once (as the
// column sums do: a deferred gradient summed into zeros equals an undeferred one exactly).
// dinp or dweight may be null: not computed.
template <typename T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                      const T* rstd, int N, int C);

// The same for rows whose C columns are one part of a width of Cw (block partitioning):
// `sum_rows` sums the per-row statistics over the parts (kernels/layernorm.h's RowSum).
template <typename T>
void rmsnorm_forward_split(T* out, T* rstd, const T* inp, const T* weight, int N, int C, int Cw,
                           double eps, const std::function<void(T*, size_t)>& sum_rows);
template <typename T>
void rmsnorm_backward_split(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                            const T* rstd, int N, int C, int Cw,
                            const std::function<void(T*, size_t)>& sum_rows);

}  // namespace parti::kernels
