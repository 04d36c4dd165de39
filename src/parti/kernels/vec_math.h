// Vectorizable float exp and the loops built on it (softmax rows, GELU, SwiGLU). glibc's expf and
// tanhf are scalar calls (~7 and ~30 ns); these loops compile to SIMD code, with an AVX2+FMA
// (Haswell) clone chosen at load time where the CPU has it (GCC target_clones).
//   exp(x) = 2^n p(r), n = round(x log2 e), r = x - n ln 2 (Cody-Waite split), p: the Cephes
//   expf polynomial; relative error < 2e-7 on [-87, 88] (checked by vec_math_test).
//   tanh(u) = 1 - 2 / (1 + exp(2u)); absolute error < 3e-7, which is what GELU needs.
// Only float uses them; the double instantiations (gradient checks) keep std::exp / std::tanh.
#pragma once

#include <cstddef>

namespace parti::kernels {

// x[i] = exp(x[i] - shift) for i < n; returns the sum of the results.
float exp_shifted_sum(float* x, int n, float shift);
// max of x[0..n), n >= 1 (NaN elements are skipped, as std::max skips them after the first)
float row_max(const float* x, int n);
// out = silu(gate) * up; dgate += d/dgate, dup += d/dup of that times dout (kernels/swiglu.h)
void swiglu_forward_f32(float* out, const float* gate, const float* up, size_t n);
void swiglu_backward_f32(float* dgate, float* dup, const float* dout, const float* gate,
                         const float* up, size_t n);
// out = gelu_tanh(inp)
void gelu_forward_f32(float* out, const float* inp, size_t n);
// dinp += gelu_tanh'(inp) * dout
void gelu_backward_f32(float* dinp, const float* inp, const float* dout, size_t n);
// For tests: the scalar building blocks.
float fast_exp(float x);
float fast_tanh(float x);

}  // namespace parti::kernels
