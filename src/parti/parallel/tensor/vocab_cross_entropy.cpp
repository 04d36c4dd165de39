#include "parti/parallel/tensor/vocab_cross_entropy.h"

#include "parti/kernels/softmax_xent.h"

namespace parti::parallel::tensor {

template <typename T>
void vocab_parallel_xent_forward(const Pass<T>& pass, T* losses, T* logits, const int32_t* targets,
                                 int N, const VocabPart& part) {
  if (tp_size(pass) == 1) {
    kernels::softmax_xent_forward<T>(losses, logits, targets, N, part.vocab, part.padded);
    return;
  }
  const auto n = static_cast<size_t>(N);
  T* rowmax = pass.arena.template alloc<T>(n);
  T* stats = pass.arena.template alloc<T>(2 * n);
  kernels::softmax_xent_part_max<T>(rowmax, logits, N, part.valid, part.rows);
  tp_all_reduce_max(pass, rowmax, n);
  kernels::softmax_xent_part_exp<T>(stats, logits, rowmax, targets, part.first, N, part.valid,
                                    part.rows);
  tp_all_reduce(pass, stats, 2 * n);
  kernels::softmax_xent_part_finish<T>(losses, logits, rowmax, stats, N, part.rows);
}

template <typename T>
void vocab_parallel_xent_backward(const Pass<T>& pass, T* probs, const int32_t* targets, T dloss,
                                  int N, const VocabPart& part) {
  if (tp_size(pass) == 1) {
    kernels::softmax_xent_backward<T>(probs, targets, dloss, N, part.vocab, part.padded);
    return;
  }
  kernels::softmax_xent_part_backward<T>(probs, targets, dloss, part.first, N, part.rows);
}

#define PARTI_XENT_FORMS(T)                                                                 \
  template void vocab_parallel_xent_forward<T>(const Pass<T>&, T*, T*, const int32_t*, int, \
                                               const VocabPart&);                           \
  template void vocab_parallel_xent_backward<T>(const Pass<T>&, T*, const int32_t*, T, int, \
                                                const VocabPart&);
PARTI_XENT_FORMS(float)
PARTI_XENT_FORMS(double)
#undef PARTI_XENT_FORMS

}  // namespace parti::parallel::tensor
