#include "parti/parallel/tensor/grid_vocab.h"

#include <algorithm>

#include "parti/kernels/embedding.h"
#include "parti/kernels/matmul.h"
#include "parti/model/deferred_grads.h"
#include "parti/parallel/tensor/mappings.h"
#include "parti/parallel/tensor/summa.h"

namespace parti::parallel::tensor {
namespace {

constexpr int kTransposeTag = 21;

// Sends `mine` (n) to the transposed rank of the grid and receives its block into `theirs`.
template <typename T>
void transpose(const TensorParallel& tp, const T* mine, T* theirs, size_t n) {
  const int partner = tp.col * tp.grid + tp.row;
  if (partner == tp.rank) {
    std::copy(mine, mine + n, theirs);
    return;
  }
  dist::Request recv = tp.group->irecv(theirs, n, partner, kTransposeTag);
  dist::Request send = tp.group->isend(mine, n, partner, kTransposeTag);
  recv.wait();
  send.wait();
}

}  // namespace

template <typename T>
void grid_lookup_forward(const Pass<T>& pass, const T* table, int first, int rows, int C, T* out) {
  const TensorParallel& tp = *pass.tp;
  const int Cl = pass.local_width(C);
  const size_t block = pass.local_numel(C);
  Scratch<T> scratch(pass);
  T* all = scratch.alloc(pass.tokens() * static_cast<size_t>(Cl));
  T* mine = scratch.alloc(block);
  kernels::lookup_forward<T>(all, pass.record.tokens, table, first, rows,
                             static_cast<int>(pass.tokens()), Cl);
  tp.row_group->reduce_scatter(all, mine, block);
  transpose(tp, mine, out, block);
}

template <typename T>
void grid_lookup_backward(const Pass<T>& pass, T* dtable, int first, int rows, int C,
                          const T* dout) {
  const TensorParallel& tp = *pass.tp;
  const int Cl = pass.local_width(C);
  const size_t block = pass.local_numel(C);
  Scratch<T> scratch(pass);
  T* all = scratch.alloc(pass.tokens() * static_cast<size_t>(Cl));
  T* mine = all + block * static_cast<size_t>(tp.col);  // in place: this rank's block of all
  transpose(tp, dout, mine, block);
  tp.row_group->all_gather(mine, all, block);
  kernels::lookup_backward<T>(dtable, all, pass.record.tokens, first, rows,
                              static_cast<int>(pass.tokens()), Cl);
}

template <typename T>
void vocab_projection_forward(const Pass<T>& pass, int weight, int rows, int C, const T* xf,
                              T* logits) {
  if (pass.block()) {
    const LinearShape shape{C, rows * pass.tp->grid, kernels::WeightLayout::out_in, false};
    summa_forward(pass, shape, weight, -1, xf, logits);
    return;
  }
  kernels::matmul_forward<T>(logits, xf, pass.param(weight), nullptr,
                             static_cast<int>(pass.tokens()), C, rows,
                             kernels::WeightLayout::out_in);
}

template <typename T>
void vocab_projection_backward(const Pass<T>& pass, int weight, int rows, int C, const T* dlogits,
                               const T* xf, T* dxf) {
  if (pass.block()) {
    const LinearShape shape{C, rows * pass.tp->grid, kernels::WeightLayout::out_in, false};
    summa_backward(pass, shape, weight, -1, dlogits, xf, dxf);
    return;
  }
  model::linear_backward(pass, dxf, weight, -1, dlogits, xf, static_cast<int>(pass.tokens()), C,
                         rows, kernels::WeightLayout::out_in, true);
}

#define PARTI_VOCAB_PROJECTION(T)                                                         \
  template void vocab_projection_forward<T>(const Pass<T>&, int, int, int, const T*, T*); \
  template void vocab_projection_backward<T>(const Pass<T>&, int, int, int, const T*, const T*, T*);
PARTI_VOCAB_PROJECTION(float)
PARTI_VOCAB_PROJECTION(double)
#undef PARTI_VOCAB_PROJECTION

template void grid_lookup_forward<float>(const Pass<float>&, const float*, int, int, int, float*);
template void grid_lookup_forward<double>(const Pass<double>&, const double*, int, int, int,
                                          double*);
template void grid_lookup_backward<float>(const Pass<float>&, float*, int, int, int, const float*);
template void grid_lookup_backward<double>(const Pass<double>&, double*, int, int, int,
                                           const double*);

}  // namespace parti::parallel::tensor
