#include "parti/kernels/gelu.h"

#include <cmath>
#include <cstdint>
#include <numbers>
#include <type_traits>

#include "parti/kernels/vec_math.h"

namespace parti::kernels {
namespace {

template <typename T>
constexpr T kGeluScale = static_cast<T>(0.7978845608028654);  // sqrt(2 / pi)

}  // namespace

template <typename T>
void gelu_forward(T* out, const T* inp, size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    gelu_forward_f32(out, inp, n);
    return;
  }
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    T x = inp[i];
    T u = kGeluScale<T> * (x + T(0.044715) * x * x * x);
    out[i] = T(0.5) * x * (T(1) + std::tanh(u));
  }
}

template <typename T>
void gelu_backward(T* dinp, const T* inp, const T* dout, size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    gelu_backward_f32(dinp, inp, dout, n);
    return;
  }
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    T x = inp[i];
    T u = kGeluScale<T> * (x + T(0.044715) * x * x * x);
    T th = std::tanh(u);
    T sech2 = T(1) - th * th;
    T du = kGeluScale<T> * (T(1) + T(3) * T(0.044715) * x * x);
    dinp[i] += (T(0.5) * (T(1) + th) + T(0.5) * x * sech2 * du) * dout[i];
  }
}

template void gelu_forward<float>(float*, const float*, size_t);
template void gelu_forward<double>(double*, const double*, size_t);
template void gelu_backward<float>(float*, const float*, const float*, size_t);
template void gelu_backward<double>(double*, const double*, const double*, size_t);

}  // namespace parti::kernels
