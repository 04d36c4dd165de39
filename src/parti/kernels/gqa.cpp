#include "parti/kernels/gqa.h"

#include <algorithm>
#include <cstddef>

namespace parti::kernels {

template <typename T>
void gqa_pack(T* qkv, const T* q, const T* k, const T* v, int N, int NH, int KV, int hd) {
  const auto C = static_cast<size_t>(NH) * static_cast<size_t>(hd);
  const auto Ckv = static_cast<size_t>(KV) * static_cast<size_t>(hd);
  const int group = NH / KV;
  const auto h_size = static_cast<size_t>(hd);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const auto row = static_cast<size_t>(n);
    T* out = qkv + row * 3 * C;
    std::copy(q + row * C, q + (row + 1) * C, out);
    for (int h = 0; h < NH; ++h) {
      const size_t from = row * Ckv + static_cast<size_t>(h / group) * h_size;
      const size_t to = static_cast<size_t>(h) * h_size;
      std::copy(k + from, k + from + h_size, out + C + to);
      std::copy(v + from, v + from + h_size, out + 2 * C + to);
    }
  }
}

template <typename T>
void gqa_unpack_grads(T* dq, T* dk, T* dv, const T* dqkv, int N, int NH, int KV, int hd) {
  const auto C = static_cast<size_t>(NH) * static_cast<size_t>(hd);
  const auto Ckv = static_cast<size_t>(KV) * static_cast<size_t>(hd);
  const int group = NH / KV;
  const auto h_size = static_cast<size_t>(hd);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const auto row = static_cast<size_t>(n);
    const T* in = dqkv + row * 3 * C;
    std::copy(in, in + C, dq + row * C);
    for (int j = 0; j < KV; ++j) {
      T* k = dk + row * Ckv + static_cast<size_t>(j) * h_size;
      T* v = dv + row * Ckv + static_cast<size_t>(j) * h_size;
      std::fill(k, k + h_size, T(0));
      std::fill(v, v + h_size, T(0));
      for (int h = j * group; h < (j + 1) * group; ++h) {
        const T* gk = in + C + static_cast<size_t>(h) * h_size;
        const T* gv = in + 2 * C + static_cast<size_t>(h) * h_size;
        for (size_t d = 0; d < h_size; ++d) {
          k[d] += gk[d];
          v[d] += gv[d];
        }
      }
    }
  }
}

template void gqa_pack<float>(float*, const float*, const float*, const float*, int, int, int, int);
template void gqa_pack<double>(double*, const double*, const double*, const double*, int, int, int,
                               int);
template void gqa_unpack_grads<float>(float*, float*, float*, const float*, int, int, int, int);
template void gqa_unpack_grads<double>(double*, double*, double*, const double*, int, int, int,
                                       int);

}  // namespace parti::kernels
