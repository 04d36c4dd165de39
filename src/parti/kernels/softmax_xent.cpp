#include "parti/kernels/softmax_xent.h"

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "parti/kernels/vec_math.h"

namespace parti::kernels {

template <typename T>
void softmax_xent_forward(T* losses, T* logits, const int32_t* targets, int N, int V, int Vp) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* row = logits + static_cast<size_t>(n) * static_cast<size_t>(Vp);
    T maxv = row[0];
    for (int j = 1; j < V; ++j) {
      maxv = std::max(maxv, row[j]);
    }
    T target_logit = row[targets[n]];
    T sum = T(0);
    if constexpr (std::is_same_v<T, float>) {
      sum = exp_shifted_sum(row, V, maxv);
    } else {
      for (int j = 0; j < V; ++j) {
        row[j] = std::exp(row[j] - maxv);
        sum += row[j];
      }
    }
    T inv = T(1) / sum;
    for (int j = 0; j < V; ++j) {
      row[j] *= inv;
    }
    for (int j = V; j < Vp; ++j) {
      row[j] = T(0);
    }
    losses[n] = maxv + std::log(sum) - target_logit;
  }
}

template <typename T>
void softmax_xent_backward(T* probs, const int32_t* targets, T dloss, int N, int V, int Vp) {
  (void)V;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* row = probs + static_cast<size_t>(n) * static_cast<size_t>(Vp);
    for (int j = 0; j < Vp; ++j) {
      row[j] *= dloss;
    }
    row[targets[n]] -= dloss;
  }
}

template void softmax_xent_forward<float>(float*, float*, const int32_t*, int, int, int);
template void softmax_xent_forward<double>(double*, double*, const int32_t*, int, int, int);
template void softmax_xent_backward<float>(float*, const int32_t*, float, int, int, int);
template void softmax_xent_backward<double>(double*, const int32_t*, double, int, int, int);

}  // namespace parti::kernels
