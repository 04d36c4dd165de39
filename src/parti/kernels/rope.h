// Rotary position embeddings (Su et al. 2021) in Hugging Face Llama's convention: in each head
// of hd dimensions, dimension i and i + hd/2 (i < hd/2) turn together by the angle
// pos * theta^(-2i / hd):
//   x'_i        = x_i cos - x_{i+hd/2} sin
//   x'_{i+hd/2} = x_{i+hd/2} cos + x_i sin
// The backward turns the gradient by the opposite angle (a rotation's transpose).
#pragma once

#include <cstddef>
#include <cstdint>

namespace parti::kernels {

// x: B T tokens of `heads` heads of hd dimensions each, token (b, t) at x + (b T + t) stride,
// in place. pos(t) = positions[t] (a row's global positions under context parallelism) or t.
template <typename T>
void rope_forward(T* x, int B, int Tn, int heads, int hd, size_t stride, double theta,
                  const int32_t* positions = nullptr);
template <typename T>
void rope_backward(T* dx, int B, int Tn, int heads, int hd, size_t stride, double theta,
                   const int32_t* positions = nullptr);

}  // namespace parti::kernels
