// RMSNorm (Zhang & Sennrich 2019), as Llama uses it: out = x * rstd * weight with
// rstd = 1 / sqrt(mean(x^2) + eps) per row (no mean subtracted, no bias).
#pragma once

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

}  // namespace parti::kernels
