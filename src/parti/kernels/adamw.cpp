#include "parti/kernels/adamw.h"

#include <cmath>
#include <cstdint>

namespace parti::kernels {

template <typename T>
void adamw_update(T* params, T* m, T* v, const T* grads, size_t n, const AdamWHyper& hyper) {
  const T lr = static_cast<T>(hyper.lr);
  const T b1 = static_cast<T>(hyper.beta1);
  const T b2 = static_cast<T>(hyper.beta2);
  const T eps = static_cast<T>(hyper.eps);
  const T decay = T(1) - lr * static_cast<T>(hyper.weight_decay);
  const T bc1 = T(1) - static_cast<T>(std::pow(static_cast<double>(hyper.beta1), hyper.step));
  const T bc2 = T(1) - static_cast<T>(std::pow(static_cast<double>(hyper.beta2), hyper.step));
  const T step_size = lr / bc1;
  const T bc2_sqrt = std::sqrt(bc2);
  const T grad_scale = static_cast<T>(hyper.grad_scale);
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    T g = grads[i] * grad_scale;
    T p = params[i] * decay;
    T mi = b1 * m[i] + (T(1) - b1) * g;
    T vi = b2 * v[i] + (T(1) - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = p - step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
  }
}

template void adamw_update<float>(float*, float*, float*, const float*, size_t, const AdamWHyper&);
template void adamw_update<double>(double*, double*, double*, const double*, size_t,
                                   const AdamWHyper&);

}  // namespace parti::kernels
