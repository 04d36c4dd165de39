// Vocabulary-parallel cross-entropy (Megatron-core tensor_parallel/cross_entropy.py): each tp rank
// holds the logits' columns of its vocabulary rows and never whole rows. Forward all-reduces the
// N row maxima, then the N sums of exponentials with the N target logits (one call of 2N);
// backward is local: dlogits = (probs - onehot(target)) * dloss on this rank's columns. At tp = 1
// it is the fused softmax cross-entropy over the padded vocabulary (kernels/softmax_xent.h).
#pragma once

#include <cstdint>

#include "parti/parallel/tensor/mappings.h"

namespace parti::parallel::tensor {

// This rank's columns of the (N, Vp) logits: [first, first + rows), of which the first `valid`
// are real vocabulary (the whole: `vocab` of `padded`).
struct VocabPart {
  int first = 0, rows = 0, valid = 0;
  int vocab = 0, padded = 0;
};

// losses (N); logits (N, part.rows) in, probabilities out; targets (N) global ids. The row
// statistics come from pass.arena.
template <typename T>
void vocab_parallel_xent_forward(const Pass<T>& pass, T* losses, T* logits, const int32_t* targets,
                                 int N, const VocabPart& part);

// probs (N, part.rows) in, dlogits out.
template <typename T>
void vocab_parallel_xent_backward(const Pass<T>& pass, T* probs, const int32_t* targets, T dloss,
                                  int N, const VocabPart& part);

}  // namespace parti::parallel::tensor
