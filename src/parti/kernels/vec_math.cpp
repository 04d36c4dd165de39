#include "parti/kernels/vec_math.h"

#include <xmmintrin.h>

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

[[gnu::always_inline]] inline float sigmoid_inline(float g) {
  return 1.0f / (1.0f + exp_inline(-g));
}

// GCC evaluates exp_inline's clamped branches as constants on every lane and blends them in; in
// g * sigmoid(g) the branch for g < -88 is g * 6e-39, a denormal product on every lane that
// costs ~10x the loop (microcode assists). Within this scope denormal results flush to zero and
// denormal inputs read as zero (only values below 1.2e-38 change; every layout runs this code).
class FlushDenormals {
 public:
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned saved_;
};

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

PARTI_SIMD_CLONES float row_max(const float* x, int n) {
  float m = x[0];
#pragma omp simd reduction(max : m)
  for (int i = 1; i < n; ++i) {
    m = x[i] > m ? x[i] : m;
  }
  return m;
}

PARTI_SIMD_CLONES void swiglu_forward_f32(float* out, const float* gate, const float* up,
                                          size_t n) {
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel
  {
    const FlushDenormals flush;
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      const float g = gate[i];
      out[i] = g * sigmoid_inline(g) * up[i];
    }
  }
}

PARTI_SIMD_CLONES void swiglu_backward_f32(float* dgate, float* dup, const float* dout,
                                           const float* gate, const float* up, size_t n) {
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    const float s = sigmoid_inline(g);
    dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
    dup[i] += dout[i] * g * s;
  }
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
