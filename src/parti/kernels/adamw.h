// AdamW (Loshchilov & Hutter), in the order torch.optim.AdamW computes it:
//   p *= 1 - lr * wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// on n elements of flat buffers; `step` t counts from 1. g is grads[i] * grad_scale: gradient
// clipping's factor applied in the same pass (x * 1 is exact: unclipped steps are unchanged).
#pragma once

#include <cstddef>

namespace parti::kernels {

struct AdamWHyper {
  float lr, beta1, beta2, eps, weight_decay;
  int step;
  float grad_scale = 1.0f;
};

// params, m, v (n) updated in place from grads (n)
template <typename T>
void adamw_update(T* params, T* m, T* v, const T* grads, size_t n, const AdamWHyper& hyper);

}  // namespace parti::kernels
