#include "parti/kernels/layernorm.h"

#include <cmath>
#include <cstddef>
#include <vector>

#include "parti/kernels/reduce.h"

namespace parti::kernels {

template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                       int N, int C) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + static_cast<size_t>(n) * static_cast<size_t>(C);
    T* y = out + static_cast<size_t>(n) * static_cast<size_t>(C);
    T m = T(0);
    for (int c = 0; c < C; ++c) {
      m += x[c];
    }
    m /= static_cast<T>(C);
    T v = T(0);
    for (int c = 0; c < C; ++c) {
      T d = x[c] - m;
      v += d * d;
    }
    v /= static_cast<T>(C);
    T s = T(1) / std::sqrt(v + static_cast<T>(kLayerNormEps));
    for (int c = 0; c < C; ++c) {
      y[c] = (x[c] - m) * s * weight[c] + bias[c];
    }
    mean[n] = m;
    rstd[n] = s;
  }
}

template <typename T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                        const T* mean, const T* rstd, int N, int C) {
  // xhat * dout per row feeds dweight; dout itself feeds dbias. Both summed deterministically.
  thread_local std::vector<T> xhat_dout;
  xhat_dout.resize(static_cast<size_t>(N) * static_cast<size_t>(C));
  T* xhat_dout_data = xhat_dout.data();  // this thread's buffer, shared with the team below
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    size_t row = static_cast<size_t>(n) * static_cast<size_t>(C);
    const T* x = inp + row;
    const T* dy = dout + row;
    T* dx = dinp + row;
    T* xd = xhat_dout_data + row;
    T m = mean[n];
    T s = rstd[n];
    T dnorm_mean = T(0);
    T dnorm_xhat_mean = T(0);
    for (int c = 0; c < C; ++c) {
      T xhat = (x[c] - m) * s;
      T dnorm = weight[c] * dy[c];
      xd[c] = xhat * dy[c];
      dnorm_mean += dnorm;
      dnorm_xhat_mean += dnorm * xhat;
    }
    dnorm_mean /= static_cast<T>(C);
    dnorm_xhat_mean /= static_cast<T>(C);
    for (int c = 0; c < C; ++c) {
      T xhat = (x[c] - m) * s;
      T dnorm = weight[c] * dy[c];
      dx[c] += (dnorm - dnorm_mean - xhat * dnorm_xhat_mean) * s;
    }
  }
  column_sum2_accumulate<T>(dweight, dbias, xhat_dout_data, dout, N, C);
}

template void layernorm_forward<float>(float*, float*, float*, const float*, const float*,
                                       const float*, int, int);
template void layernorm_forward<double>(double*, double*, double*, const double*, const double*,
                                        const double*, int, int);
template void layernorm_backward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, const float*, const float*, int, int);
template void layernorm_backward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, int, int);

}  // namespace parti::kernels
