// LayerNorm over the last dim: y = (x - mean) * rstd * weight + bias, rstd = 1/sqrt(var + 1e-5)
// with the biased variance (as torch.nn.LayerNorm). N rows of C.
#pragma once

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

}  // namespace parti::kernels
