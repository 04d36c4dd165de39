#include "parti/kernels/rope.h"

#include <cmath>
#include <vector>

namespace parti::kernels {
namespace {

// Turns every head of every token by +angle (sign 1) or -angle (sign -1).
template <typename T>
void rotate(T* x, int B, int Tn, int heads, int hd, size_t stride, double theta,
            const int32_t* positions, T sign) {
  const int half = hd / 2;
  // cos and sin per (t, i), computed as Hugging Face does: the inverse frequency in float, the
  // angle as the float product of position and frequency.
  std::vector<T> cs(static_cast<size_t>(Tn) * static_cast<size_t>(half) * 2);
  for (int t = 0; t < Tn; ++t) {
    const float pos = static_cast<float>(positions != nullptr ? positions[t] : t);
    for (int i = 0; i < half; ++i) {
      const auto inv_freq = static_cast<float>(1.0 / std::pow(theta, 2.0 * i / hd));
      const float angle = pos * inv_freq;
      const size_t at =
          (static_cast<size_t>(t) * static_cast<size_t>(half) + static_cast<size_t>(i)) * 2;
      cs[at] = static_cast<T>(std::cos(angle));
      cs[at + 1] = sign * static_cast<T>(std::sin(angle));
    }
  }
  const T* table = cs.data();
#pragma omp parallel for schedule(static)
  for (int bt = 0; bt < B * Tn; ++bt) {
    const int t = bt % Tn;
    const T* row = table + static_cast<size_t>(t) * static_cast<size_t>(half) * 2;
    for (int h = 0; h < heads; ++h) {
      T* v =
          x + static_cast<size_t>(bt) * stride + static_cast<size_t>(h) * static_cast<size_t>(hd);
      for (int i = 0; i < half; ++i) {
        const T c = row[2 * i], s = row[2 * i + 1];
        const T a = v[i], b = v[i + half];
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
      }
    }
  }
}

}  // namespace

template <typename T>
void rope_forward(T* x, int B, int Tn, int heads, int hd, size_t stride, double theta,
                  const int32_t* positions) {
  rotate<T>(x, B, Tn, heads, hd, stride, theta, positions, T(1));
}

template <typename T>
void rope_backward(T* dx, int B, int Tn, int heads, int hd, size_t stride, double theta,
                   const int32_t* positions) {
  rotate<T>(dx, B, Tn, heads, hd, stride, theta, positions, T(-1));
}

template void rope_forward<float>(float*, int, int, int, int, size_t, double, const int32_t*);
template void rope_forward<double>(double*, int, int, int, int, size_t, double, const int32_t*);
template void rope_backward<float>(float*, int, int, int, int, size_t, double, const int32_t*);
template void rope_backward<double>(double*, int, int, int, int, size_t, double, const int32_t*);

}  // namespace parti::kernels
