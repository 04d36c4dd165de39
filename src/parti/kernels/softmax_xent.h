// Fused softmax + cross-entropy over a padded vocabulary: N rows of Vp logits, of which the first
// V are real (columns V..Vp-1 are padding: probability 0, gradient 0).
//   loss[n] = logsumexp(logits[n, :V]) - logits[n, target[n]]
// Forward overwrites the logits with the probabilities (backward needs nothing else); backward
// overwrites them with dlogits = (probs - onehot(target)) * dloss[n].
#pragma once

#include <cstdint>

namespace parti::kernels {

// losses (N); logits (N, Vp) in, probabilities out; targets (N) in [0, V)
template <typename T>
void softmax_xent_forward(T* losses, T* logits, const int32_t* targets, int N, int V, int Vp);

// probs (N, Vp) in, dlogits out; dloss: the same weight for every row (1 / tokens in the batch)
template <typename T>
void softmax_xent_backward(T* probs, const int32_t* targets, T dloss, int N, int V, int Vp);

}  // namespace parti::kernels
