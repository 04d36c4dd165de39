// LayerNorm and RMSNorm of rows cut by columns (kernels/layernorm.h, kernels/rmsnorm.h): each
// per-row statistic is this part's sum, completed by the caller's sum_rows over the parts.
#include <cmath>
#include <cstddef>
#include <vector>

#include "parti/kernels/layernorm.h"
#include "parti/kernels/reduce.h"
#include "parti/kernels/rmsnorm.h"

namespace parti::kernels {
namespace {

inline size_t at(int n, int C) { return static_cast<size_t>(n) * static_cast<size_t>(C); }

}  // namespace

template <typename T>
void layernorm_forward_split(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                             int N, int C, int Cw, const RowSum<T>& sum_rows) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T s = T(0);
    for (int c = 0; c < C; ++c) s += inp[at(n, C) + static_cast<size_t>(c)];
    mean[n] = s;
  }
  sum_rows(mean, static_cast<size_t>(N));
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + at(n, C);
    mean[n] /= static_cast<T>(Cw);
    T v = T(0);
    for (int c = 0; c < C; ++c) v += (x[c] - mean[n]) * (x[c] - mean[n]);
    rstd[n] = v;
  }
  sum_rows(rstd, static_cast<size_t>(N));
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + at(n, C);
    const T s = T(1) / std::sqrt(rstd[n] / static_cast<T>(Cw) + static_cast<T>(kLayerNormEps));
    rstd[n] = s;
    T* y = out + at(n, C);
    for (int c = 0; c < C; ++c) y[c] = (x[c] - mean[n]) * s * weight[c] + bias[c];
  }
}

template <typename T>
void layernorm_backward_split(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                              const T* weight, const T* mean, const T* rstd, int N, int C, int Cw,
                              const RowSum<T>& sum_rows) {
  // dx = rstd (w dy - mean(w dy) - xhat mean(w dy xhat)), the means over the whole width.
  std::vector<T> sums(2 * static_cast<size_t>(N)), xhat_dout(at(N, C));
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + at(n, C);
    const T* dy = dout + at(n, C);
    T a = T(0), b = T(0);
    for (int c = 0; c < C; ++c) {
      const T xhat = (x[c] - mean[n]) * rstd[n];
      a += weight[c] * dy[c];
      b += weight[c] * dy[c] * xhat;
      xhat_dout[at(n, C) + static_cast<size_t>(c)] = xhat * dy[c];
    }
    sums[2 * static_cast<size_t>(n)] = a;
    sums[2 * static_cast<size_t>(n) + 1] = b;
  }
  sum_rows(sums.data(), sums.size());
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + at(n, C);
    const T* dy = dout + at(n, C);
    T* dx = dinp + at(n, C);
    const T a = sums[2 * static_cast<size_t>(n)] / static_cast<T>(Cw);
    const T b = sums[2 * static_cast<size_t>(n) + 1] / static_cast<T>(Cw);
    for (int c = 0; c < C; ++c) {
      const T xhat = (x[c] - mean[n]) * rstd[n];
      dx[c] += (weight[c] * dy[c] - a - xhat * b) * rstd[n];
    }
  }
  column_sum2_accumulate<T>(dweight, dbias, xhat_dout.data(), dout, N, C);
}

template <typename T>
void rmsnorm_forward_split(T* out, T* rstd, const T* inp, const T* weight, int N, int C, int Cw,
                           double eps, const std::function<void(T*, size_t)>& sum_rows) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + at(n, C);
    T ss = T(0);
    for (int c = 0; c < C; ++c) ss += x[c] * x[c];
    rstd[n] = ss;
  }
  sum_rows(rstd, static_cast<size_t>(N));
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + at(n, C);
    const T s = T(1) / std::sqrt(rstd[n] / static_cast<T>(Cw) + static_cast<T>(eps));
    rstd[n] = s;
    T* y = out + at(n, C);
    for (int c = 0; c < C; ++c) y[c] = x[c] * s * weight[c];
  }
}

template <typename T>
void rmsnorm_backward_split(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                            const T* rstd, int N, int C, int Cw,
                            const std::function<void(T*, size_t)>& sum_rows) {
  if (dweight != nullptr) {  // this part's rows' sum of dy x rstd
    rmsnorm_backward<T>(nullptr, dweight, dout, inp, weight, rstd, N, C);
  }
  if (dinp == nullptr) {
    return;
  }
  std::vector<T> dots(static_cast<size_t>(N));
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + at(n, C);
    const T* dy = dout + at(n, C);
    T dot = T(0);
    for (int c = 0; c < C; ++c) dot += weight[c] * dy[c] * x[c];
    dots[static_cast<size_t>(n)] = dot;
  }
  sum_rows(dots.data(), dots.size());
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + at(n, C);
    const T* dy = dout + at(n, C);
    T* dx = dinp + at(n, C);
    const T s = rstd[n];
    const T k = s * s * s * dots[static_cast<size_t>(n)] / static_cast<T>(Cw);
    for (int c = 0; c < C; ++c) dx[c] += s * weight[c] * dy[c] - x[c] * k;
  }
}

#define PARTI_SPLIT_NORMS(T)                                                                    \
  template void layernorm_forward_split<T>(T*, T*, T*, const T*, const T*, const T*, int, int,  \
                                           int, const RowSum<T>&);                              \
  template void layernorm_backward_split<T>(T*, T*, T*, const T*, const T*, const T*, const T*, \
                                            const T*, int, int, int, const RowSum<T>&);         \
  template void rmsnorm_forward_split<T>(T*, T*, const T*, const T*, int, int, int, double,     \
                                         const RowSum<T>&);                                     \
  template void rmsnorm_backward_split<T>(T*, T*, const T*, const T*, const T*, const T*, int,  \
                                          int, int, const RowSum<T>&);
PARTI_SPLIT_NORMS(float)
PARTI_SPLIT_NORMS(double)
#undef PARTI_SPLIT_NORMS

}  // namespace parti::kernels
