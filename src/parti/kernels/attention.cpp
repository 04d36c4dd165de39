#include "parti/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "parti/kernels/gemm.h"
#include "parti/kernels/vec_math.h"

namespace parti::kernels {
namespace {

size_t offset3(int b, int t, int Tn, int C3) {
  return (static_cast<size_t>(b) * static_cast<size_t>(Tn) + static_cast<size_t>(t)) *
         static_cast<size_t>(C3);
}

}  // namespace

template <typename T>
void attention_forward(T* out, T* att, const T* qkv, int B, int Tn, int C, int NH) {
  const int HS = C / NH;
  const int C3 = 3 * C;
  const T scale = T(1) / std::sqrt(static_cast<T>(HS));
  const size_t TT = static_cast<size_t>(Tn) * static_cast<size_t>(Tn);
#pragma omp parallel for schedule(static)
  for (int bh = 0; bh < B * NH; ++bh) {
    const int b = bh / NH;
    const int h = bh % NH;
    const T* q = qkv + offset3(b, 0, Tn, C3) + static_cast<size_t>(h * HS);
    const T* k = q + C;
    const T* v = q + 2 * C;
    T* a = att + static_cast<size_t>(bh) * TT;
    gemm<T>(Trans::no, Trans::yes, Tn, Tn, HS, scale, q, C3, k, C3, T(0), a, Tn);
    for (int i = 0; i < Tn; ++i) {
      T* row = a + static_cast<size_t>(i) * static_cast<size_t>(Tn);
      T maxv = row[0];
      for (int j = 1; j <= i; ++j) {
        maxv = std::max(maxv, row[j]);
      }
      T sum = T(0);
      if constexpr (std::is_same_v<T, float>) {
        sum = exp_shifted_sum(row, i + 1, maxv);
      } else {
        for (int j = 0; j <= i; ++j) {
          row[j] = std::exp(row[j] - maxv);
          sum += row[j];
        }
      }
      T inv = T(1) / sum;
      for (int j = 0; j <= i; ++j) {
        row[j] *= inv;
      }
      for (int j = i + 1; j < Tn; ++j) {
        row[j] = T(0);
      }
    }
    T* o = out + static_cast<size_t>(b) * static_cast<size_t>(Tn) * static_cast<size_t>(C) +
           static_cast<size_t>(h * HS);
    gemm<T>(Trans::no, Trans::no, Tn, HS, Tn, T(1), a, Tn, v, C3, T(0), o, C);
  }
}

template <typename T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn, int C,
                        int NH) {
  const int HS = C / NH;
  const int C3 = 3 * C;
  const T scale = T(1) / std::sqrt(static_cast<T>(HS));
  const size_t TT = static_cast<size_t>(Tn) * static_cast<size_t>(Tn);
#pragma omp parallel for schedule(static)
  for (int bh = 0; bh < B * NH; ++bh) {
    thread_local std::vector<T> datt_buffer;
    datt_buffer.resize(TT);
    T* datt = datt_buffer.data();
    const int b = bh / NH;
    const int h = bh % NH;
    const size_t base = offset3(b, 0, Tn, C3) + static_cast<size_t>(h * HS);
    const T* q = qkv + base;
    const T* k = q + C;
    const T* v = q + 2 * C;
    T* dq = dqkv + base;
    T* dk = dq + C;
    T* dv = dq + 2 * C;
    const T* a = att + static_cast<size_t>(bh) * TT;
    const T* dy = dout + static_cast<size_t>(b) * static_cast<size_t>(Tn) * static_cast<size_t>(C) +
                  static_cast<size_t>(h * HS);
    // datt = dy v^T;  dv += att^T dy
    gemm<T>(Trans::no, Trans::yes, Tn, Tn, HS, T(1), dy, C, v, C3, T(0), datt, Tn);
    gemm<T>(Trans::yes, Trans::no, Tn, HS, Tn, T(1), a, Tn, dy, C, T(1), dv, C3);
    // softmax backward, in place: dpre = att * (datt - sum_j att datt)
    for (int i = 0; i < Tn; ++i) {
      const T* arow = a + static_cast<size_t>(i) * static_cast<size_t>(Tn);
      T* drow = datt + static_cast<size_t>(i) * static_cast<size_t>(Tn);
      T dot = T(0);
      for (int j = 0; j <= i; ++j) {
        dot += arow[j] * drow[j];
      }
      for (int j = 0; j <= i; ++j) {
        drow[j] = arow[j] * (drow[j] - dot);
      }
      for (int j = i + 1; j < Tn; ++j) {
        drow[j] = T(0);
      }
    }
    // dq += dpre k * scale;  dk += dpre^T q * scale
    gemm<T>(Trans::no, Trans::no, Tn, HS, Tn, scale, datt, Tn, k, C3, T(1), dq, C3);
    gemm<T>(Trans::yes, Trans::no, Tn, HS, Tn, scale, datt, Tn, q, C3, T(1), dk, C3);
  }
}

template <typename T>
void attention_cached(T* out, const T* q, int ldq, const T* keys, const T* values, int Tn, int past,
                      int NH, int KV, int hd) {
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
  const int group = NH / KV;
  const auto row = [](int t, int width) {
    return static_cast<size_t>(t) * static_cast<size_t>(width);
  };
#pragma omp parallel for schedule(static)
  for (int ih = 0; ih < Tn * NH; ++ih) {
    const int i = ih / NH;
    const int h = ih % NH;
    const int n = past + i + 1;  // the positions token i sees
    thread_local std::vector<T> scores;
    scores.resize(static_cast<size_t>(n));
    const T* qi = q + row(i, ldq) + static_cast<size_t>(h * hd);
    const size_t head = static_cast<size_t>((h / group) * hd);
    for (int j = 0; j < n; ++j) {
      const T* kj = keys + row(j, KV * hd) + head;
      T dot = T(0);
      for (int d = 0; d < hd; ++d) {
        dot += qi[d] * kj[d];
      }
      scores[static_cast<size_t>(j)] = dot * scale;
    }
    T maxv = scores[0];
    for (int j = 1; j < n; ++j) {
      maxv = std::max(maxv, scores[static_cast<size_t>(j)]);
    }
    T sum = T(0);
    if constexpr (std::is_same_v<T, float>) {
      sum = exp_shifted_sum(scores.data(), n, maxv);
    } else {
      for (T& s : scores) {
        s = std::exp(s - maxv);
        sum += s;
      }
    }
    const T inv = T(1) / sum;
    T* o = out + row(i, NH * hd) + static_cast<size_t>(h * hd);
    std::fill(o, o + hd, T(0));
    for (int j = 0; j < n; ++j) {
      const T p = scores[static_cast<size_t>(j)] * inv;
      const T* vj = values + row(j, KV * hd) + head;
      for (int d = 0; d < hd; ++d) {
        o[d] += p * vj[d];
      }
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, int, int, int, int);
template void attention_forward<double>(double*, double*, const double*, int, int, int, int);
template void attention_backward<float>(float*, const float*, const float*, const float*, int, int,
                                        int, int);
template void attention_backward<double>(double*, const double*, const double*, const double*, int,
                                         int, int, int);
template void attention_cached<float>(float*, const float*, int, const float*, const float*, int,
                                      int, int, int, int);
template void attention_cached<double>(double*, const double*, int, const double*, const double*,
                                       int, int, int, int, int);

}  // namespace parti::kernels
