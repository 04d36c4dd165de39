// GELU, tanh approximation (GPT-2's "gelu_new"; torch gelu(approximate='tanh')):
//   y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
#pragma once

#include <cstddef>

namespace parti::kernels {

// out (n) = gelu(inp)
template <typename T>
void gelu_forward(T* out, const T* inp, size_t n);

// dinp (n) += gelu'(inp) * dout
template <typename T>
void gelu_backward(T* dinp, const T* inp, const T* dout, size_t n);

}  // namespace parti::kernels
