#include "parti/kernels/swiglu.h"

#include <cmath>
#include <type_traits>

#include "parti/kernels/vec_math.h"

namespace parti::kernels {

template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    swiglu_forward_f32(out, gate, up, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const T g = gate[i];
    out[i] = g / (T(1) + std::exp(-g)) * up[i];
  }
}

template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    swiglu_backward_f32(dgate, dup, dout, gate, up, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const T g = gate[i];
    const T s = T(1) / (T(1) + std::exp(-g));
    dgate[i] += dout[i] * up[i] * s * (T(1) + g * (T(1) - s));
    dup[i] += dout[i] * g * s;
  }
}

template void swiglu_forward<float>(float*, const float*, const float*, size_t);
template void swiglu_forward<double>(double*, const double*, const double*, size_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*,
                                     size_t);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*,
                                      size_t);

}  // namespace parti::kernels
