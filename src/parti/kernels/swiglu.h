// The SwiGLU gate of a Llama MLP (Shazeer 2020): out = silu(gate) * up, silu(g) = g sigmoid(g).
#pragma once

#include <cstddef>

namespace parti::kernels {

// out (n) = silu(gate) * up.
template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, size_t n);

// dgate (n) += dout up silu'(gate), dup (n) += dout silu(gate); silu'(g) = s (1 + g (1 - s)) with
// s = sigmoid(g).
template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, size_t n);

}  // namespace parti::kernels
