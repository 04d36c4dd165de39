#include "parti/kernels/embedding.h"

#include <algorithm>
#include <cstddef>

namespace parti::kernels {
namespace {

constexpr int kChannelBlock = 32;

size_t row(int i, int C) { return static_cast<size_t>(i) * static_cast<size_t>(C); }
int position(const int32_t* positions, int t) { return positions != nullptr ? positions[t] : t; }

}  // namespace

template <typename T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                       int C, const int32_t* positions) {
#pragma omp parallel for schedule(static)
  for (int bt = 0; bt < B * Tn; ++bt) {
    const T* e = wte + row(tokens[bt], C);
    const T* p = wpe + row(position(positions, bt % Tn), C);
    T* o = out + row(bt, C);
    for (int c = 0; c < C; ++c) {
      o[c] = e[c] + p[c];
    }
  }
}

template <typename T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                        int C, const int32_t* positions) {
  const int blocks = (C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < blocks; ++blk) {
    const int c0 = blk * kChannelBlock;
    const int c1 = std::min(C, c0 + kChannelBlock);
    for (int bt = 0; bt < B * Tn; ++bt) {
      const T* d = dout + row(bt, C);
      T* p = dwpe + row(position(positions, bt % Tn), C);
      if (dwte == nullptr) {
        for (int c = c0; c < c1; ++c) {
          p[c] += d[c];
        }
        continue;
      }
      T* e = dwte + row(tokens[bt], C);
      for (int c = c0; c < c1; ++c) {
        e[c] += d[c];
        p[c] += d[c];
      }
    }
  }
}

template <typename T>
void lookup_forward(T* out, const int32_t* tokens, const T* table, int first, int rows, int N,
                    int C) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const int r = tokens[n] - first;
    T* o = out + row(n, C);
    if (r < 0 || r >= rows) {
      std::fill(o, o + C, T(0));
      continue;
    }
    const T* e = table + row(r, C);
    std::copy(e, e + C, o);
  }
}

template <typename T>
void positions_forward(T* out, const T* wpe, int B, int Tn, int C, const int32_t* positions) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < B * Tn; ++n) {
    const int t = n % Tn;
    const T* p = wpe + row(positions != nullptr ? positions[t] : t, C);
    T* o = out + row(n, C);
    for (int c = 0; c < C; ++c) {
      o[c] += p[c];
    }
  }
}

template <typename T>
void lookup_backward(T* dtable, const T* dout, const int32_t* tokens, int first, int rows, int N,
                     int C) {
  const int blocks = (C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < blocks; ++blk) {
    const int c0 = blk * kChannelBlock;
    const int c1 = std::min(C, c0 + kChannelBlock);
    for (int n = 0; n < N; ++n) {
      const int r = tokens[n] - first;
      if (r < 0 || r >= rows) {
        continue;
      }
      const T* d = dout + row(n, C);
      T* e = dtable + row(r, C);
      for (int c = c0; c < c1; ++c) {
        e[c] += d[c];
      }
    }
  }
}

template void lookup_forward<float>(float*, const int32_t*, const float*, int, int, int, int);
template void lookup_forward<double>(double*, const int32_t*, const double*, int, int, int, int);
template void lookup_backward<float>(float*, const float*, const int32_t*, int, int, int, int);
template void lookup_backward<double>(double*, const double*, const int32_t*, int, int, int, int);
template void embedding_forward<float>(float*, const int32_t*, const float*, const float*, int, int,
                                       int, const int32_t*);
template void embedding_forward<double>(double*, const int32_t*, const double*, const double*, int,
                                        int, int, const int32_t*);
template void embedding_backward<float>(float*, float*, const float*, const int32_t*, int, int, int,
                                        const int32_t*);
template void embedding_backward<double>(double*, double*, const double*, const int32_t*, int, int,
                                         int, const int32_t*);

template void positions_forward<float>(float*, const float*, int, int, int, const int32_t*);
template void positions_forward<double>(double*, const double*, int, int, int, const int32_t*);

}  // namespace parti::kernels
