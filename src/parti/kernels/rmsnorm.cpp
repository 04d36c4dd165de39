#include "parti/kernels/rmsnorm.h"

#include <cmath>
#include <cstddef>
#include <vector>

#include "parti/kernels/reduce.h"

namespace parti::kernels {

template <typename T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C, double eps) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + static_cast<size_t>(n) * static_cast<size_t>(C);
    T* y = out + static_cast<size_t>(n) * static_cast<size_t>(C);
    T ss = T(0);
    for (int c = 0; c < C; ++c) {
      ss += x[c] * x[c];
    }
    const T s = T(1) / std::sqrt(ss / static_cast<T>(C) + static_cast<T>(eps));
    for (int c = 0; c < C; ++c) {
      y[c] = x[c] * s * weight[c];
    }
    rstd[n] = s;
  }
}

template <typename T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                      const T* rstd, int N, int C) {
  // y_c = x_c s w_c with s = (mean(x^2) + eps)^(-1/2), ds/dx_c = -s^3 x_c / C:
  //   dx_c = s (w_c dy_c) - x_c s^3 mean_j(w_j dy_j x_j);   dw_c = sum_n dy_c x_c s.
  thread_local std::vector<T> xhat_dout;
  if (dweight != nullptr) {
    xhat_dout.resize(static_cast<size_t>(N) * static_cast<size_t>(C));
  }
  T* xd_data = dweight != nullptr ? xhat_dout.data() : nullptr;  // shared with the team below
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const size_t row = static_cast<size_t>(n) * static_cast<size_t>(C);
    const T* x = inp + row;
    const T* dy = dout + row;
    const T s = rstd[n];
    if (xd_data != nullptr) {
      for (int c = 0; c < C; ++c) {
        xd_data[row + static_cast<size_t>(c)] = x[c] * s * dy[c];
      }
    }
    if (dinp == nullptr) {
      continue;
    }
    T dot = T(0);
    for (int c = 0; c < C; ++c) {
      dot += weight[c] * dy[c] * x[c];
    }
    const T k = s * s * s * dot / static_cast<T>(C);
    T* dx = dinp + row;
    for (int c = 0; c < C; ++c) {
      dx[c] += s * weight[c] * dy[c] - x[c] * k;
    }
  }
  if (dweight != nullptr) {
    column_sum_accumulate<T>(dweight, xd_data, N, C);
  }
}

template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int, int, double);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int, int,
                                      double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*,
                                      const float*, int, int);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*,
                                       const double*, const double*, int, int);

}  // namespace parti::kernels
