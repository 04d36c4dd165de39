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

// Vocabulary-parallel form (Megatron): this rank holds logits columns [first, first + Vl) of the
// whole, of which the first `valid` are real (valid may be 0), and never the full rows. Around two
// all-reduces over the tp group:
//   softmax_xent_part_max    rowmax (N) = max over this rank's valid columns (-inf if none)
//                            -> all-reduce max
//   softmax_xent_part_exp    logits -> exp(logits - rowmax) (padding 0); stats (2N) = the row
//                            sums, then the target logits (0 where the target is elsewhere)
//                            -> all-reduce sum
//   softmax_xent_part_finish probabilities = exp / sum; losses = rowmax + log(sum) - target logit
//   softmax_xent_part_backward  dlogits = (probs - onehot(target)) * dloss on this rank's columns
template <typename T>
void softmax_xent_part_max(T* rowmax, const T* logits, int N, int valid, int Vl);
template <typename T>
void softmax_xent_part_exp(T* stats, T* logits, const T* rowmax, const int32_t* targets, int first,
                           int N, int valid, int Vl);
template <typename T>
void softmax_xent_part_finish(T* losses, T* logits, const T* rowmax, const T* stats, int N, int Vl);
template <typename T>
void softmax_xent_part_backward(T* probs, const int32_t* targets, T dloss, int first, int N,
                                int Vl);

}  // namespace parti::kernels
