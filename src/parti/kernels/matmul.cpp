#include "parti/kernels/matmul.h"

#include <algorithm>
#include <cstddef>

#include "parti/kernels/gemm.h"
#include "parti/kernels/reduce.h"

namespace parti::kernels {

template <typename T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int C, int OC,
                    WeightLayout layout) {
  T beta = T(0);
  if (bias != nullptr) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; ++n) {
      std::copy(bias, bias + OC, out + static_cast<size_t>(n) * static_cast<size_t>(OC));
    }
    beta = T(1);
  }
  if (layout == WeightLayout::in_out) {
    gemm<T>(Trans::no, Trans::no, N, OC, C, T(1), inp, C, weight, OC, beta, out, OC);
  } else {
    gemm<T>(Trans::no, Trans::yes, N, OC, C, T(1), inp, C, weight, C, beta, out, OC);
  }
}

template <typename T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int N, int C, int OC, WeightLayout layout) {
  if (layout == WeightLayout::in_out) {
    if (dinp != nullptr) {
      gemm<T>(Trans::no, Trans::yes, N, C, OC, T(1), dout, OC, weight, OC, T(1), dinp, C);
    }
    if (dweight != nullptr) {
      gemm<T>(Trans::yes, Trans::no, C, OC, N, T(1), inp, C, dout, OC, T(1), dweight, OC);
    }
  } else {
    if (dinp != nullptr) {
      gemm<T>(Trans::no, Trans::no, N, C, OC, T(1), dout, OC, weight, C, T(1), dinp, C);
    }
    if (dweight != nullptr) {
      gemm<T>(Trans::yes, Trans::no, OC, C, N, T(1), dout, OC, inp, C, T(1), dweight, C);
    }
  }
  if (dbias != nullptr) {
    column_sum_accumulate<T>(dbias, dout, N, OC);
  }
}

template void matmul_forward<float>(float*, const float*, const float*, const float*, int, int, int,
                                    WeightLayout);
template void matmul_forward<double>(double*, const double*, const double*, const double*, int, int,
                                     int, WeightLayout);
template void matmul_backward<float>(float*, float*, float*, const float*, const float*,
                                     const float*, int, int, int, WeightLayout);
template void matmul_backward<double>(double*, double*, double*, const double*, const double*,
                                      const double*, int, int, int, WeightLayout);

}  // namespace parti::kernels
