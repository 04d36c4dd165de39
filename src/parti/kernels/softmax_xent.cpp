#include "parti/kernels/softmax_xent.h"

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "parti/kernels/vec_math.h"

namespace parti::kernels {

template <typename T>
void softmax_xent_forward(T* losses, T* logits, const int32_t* targets, int N, int V, int Vp) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* row = logits + static_cast<size_t>(n) * static_cast<size_t>(Vp);
    T maxv = row[0];
    if constexpr (std::is_same_v<T, float>) {
      maxv = row_max(row, V);
    } else {
      for (int j = 1; j < V; ++j) {
        maxv = std::max(maxv, row[j]);
      }
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

template <typename T>
void softmax_xent_part_max(T* rowmax, const T* logits, int N, int valid, int Vl) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* row = logits + static_cast<size_t>(n) * static_cast<size_t>(Vl);
    T maxv = -std::numeric_limits<T>::infinity();
    if constexpr (std::is_same_v<T, float>) {
      maxv = valid > 0 ? row_max(row, valid) : maxv;
    } else {
      for (int j = 0; j < valid; ++j) {
        maxv = std::max(maxv, row[j]);
      }
    }
    rowmax[n] = maxv;
  }
}

template <typename T>
void softmax_xent_part_exp(T* stats, T* logits, const T* rowmax, const int32_t* targets, int first,
                           int N, int valid, int Vl) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* row = logits + static_cast<size_t>(n) * static_cast<size_t>(Vl);
    const int t = targets[n] - first;
    stats[N + n] = t >= 0 && t < valid ? row[t] : T(0);
    T sum = T(0);
    if constexpr (std::is_same_v<T, float>) {
      sum = exp_shifted_sum(row, valid, rowmax[n]);
    } else {
      for (int j = 0; j < valid; ++j) {
        row[j] = std::exp(row[j] - rowmax[n]);
        sum += row[j];
      }
    }
    for (int j = valid; j < Vl; ++j) {
      row[j] = T(0);
    }
    stats[n] = sum;
  }
}

template <typename T>
void softmax_xent_part_finish(T* losses, T* logits, const T* rowmax, const T* stats, int N,
                              int Vl) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* row = logits + static_cast<size_t>(n) * static_cast<size_t>(Vl);
    const T inv = T(1) / stats[n];
    for (int j = 0; j < Vl; ++j) {
      row[j] *= inv;
    }
    losses[n] = rowmax[n] + std::log(stats[n]) - stats[N + n];
  }
}

template <typename T>
void softmax_xent_part_backward(T* probs, const int32_t* targets, T dloss, int first, int N,
                                int Vl) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* row = probs + static_cast<size_t>(n) * static_cast<size_t>(Vl);
    for (int j = 0; j < Vl; ++j) {
      row[j] *= dloss;
    }
    const int t = targets[n] - first;
    if (t >= 0 && t < Vl) {
      row[t] -= dloss;
    }
  }
}

#define PARTI_XENT_PART(T)                                                                      \
  template void softmax_xent_part_max<T>(T*, const T*, int, int, int);                          \
  template void softmax_xent_part_exp<T>(T*, T*, const T*, const int32_t*, int, int, int, int); \
  template void softmax_xent_part_finish<T>(T*, T*, const T*, const T*, int, int);              \
  template void softmax_xent_part_backward<T>(T*, const int32_t*, T, int, int, int);
PARTI_XENT_PART(float)
PARTI_XENT_PART(double)
#undef PARTI_XENT_PART

template void softmax_xent_forward<float>(float*, float*, const int32_t*, int, int, int);
template void softmax_xent_forward<double>(double*, double*, const int32_t*, int, int, int);
template void softmax_xent_backward<float>(float*, const int32_t*, float, int, int, int);
template void softmax_xent_backward<double>(double*, const int32_t*, double, int, int, int);

}  // namespace parti::kernels
