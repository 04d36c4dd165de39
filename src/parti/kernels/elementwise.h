// Element-wise passes over flat buffers: the residual stream's sums and gradient accumulation.
#pragma once

#include <cstddef>

namespace parti::kernels {

// out (n) += in (n).
template <typename T>
void add_into(T* out, const T* in, size_t n);

// out (n) = a (n) + b (n); out may be a or b.
template <typename T>
void add(T* out, const T* a, const T* b, size_t n);

// x (n) *= s.
template <typename T>
void scale(T* x, T s, size_t n);

}  // namespace parti::kernels
