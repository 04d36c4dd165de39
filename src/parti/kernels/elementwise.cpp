#include "parti/kernels/elementwise.h"

namespace parti::kernels {

template <typename T>
void add_into(T* out, const T* in, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    out[i] += in[i];
  }
}

template <typename T>
void add(T* out, const T* a, const T* b, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    out[i] = a[i] + b[i];
  }
}

template <typename T>
void scale(T* x, T s, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    x[i] *= s;
  }
}

template void add_into<float>(float*, const float*, size_t);
template void add_into<double>(double*, const double*, size_t);
template void add<float>(float*, const float*, const float*, size_t);
template void add<double>(double*, const double*, const double*, size_t);
template void scale<float>(float*, float, size_t);
template void scale<double>(double*, double, size_t);

}  // namespace parti::kernels
