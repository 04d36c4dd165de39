#include "parti/kernels/vec_math.h"

#include <cstdint>

namespace parti::kernels {
namespace {

#define PARTI_SIMD_CLONES __attribute__((target_clones("arch=haswell", "default")))

[[gnu::always_inline]] inline float exp_inline(float x) {
  // Plain expressions, not std:: helpers: those are not inlined into the target clones, which
  // would stop vectorization.
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // Round to nearest by the 1.5 * 2^23 trick (vectorizes without SSE4.1's roundps).
  const float kRound = 12582912.0f;
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const auto bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  return p * __builtin_bit_cast(float, bits);
}

[[gnu::always_inline]] inline float tanh_inline(float u) {
  return 1.0f - 2.0f / (1.0f + exp_inline(2.0f * u));
}

constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluCubic = 0.044715f;

}  // namespace

float fast_exp(float x) { return exp_inline(x); }
float fast_tanh(float x) { return tanh_inline(x); }

PARTI_SIMD_CLONES float exp_shifted_sum(float* x, int n, float shift) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int i = 0; i < n; ++i) {
    x[i] = exp_inline(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

PARTI_SIMD_CLONES void gelu_forward_f32(float* out, const float* inp, size_t n) {
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    const float x = inp[i];
    out[i] = 0.5f * x * (1.0f + tanh_inline(kGeluScale * (x + kGeluCubic * x * x * x)));
  }
}

PARTI_SIMD_CLONES void gelu_backward_f32(float* dinp, const float* inp, const float* dout,
                                         size_t n) {
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    const float x = inp[i];
    const float th = tanh_inline(kGeluScale * (x + kGeluCubic * x * x * x));
    const float du = kGeluScale * (1.0f + 3.0f * kGeluCubic * x * x);
    dinp[i] += (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du) * dout[i];
  }
}

}  // namespace parti::kernels
