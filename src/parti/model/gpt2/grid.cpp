// GPT-2's embeddings on a grid (block partitioning, issue #21): wte cut as grid_vocab.h says,
// wpe by width over the grid's columns (the same on every rank of a column). ZeRO's pieces of
// the embedding unit do not apply here (DataParallel never asks for them on a grid).
#include "parti/kernels/elementwise.h"
#include "parti/kernels/embedding.h"
#include "parti/model/gpt2/gpt2.h"
#include "parti/parallel/tensor/grid_vocab.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::model::gpt2 {
using namespace parallel::tensor;  // the mappings: a model family writes no collective
namespace {
constexpr int kEmbeddings = 0;  // the embedding unit
}  // namespace

template <typename T>
T* Gpt2<T>::embed_grid(Pass<T>& pass, int next) {
  PARTI_ASSERT(pass.hooks == nullptr || !pass.hooks->params_by_pieces(kEmbeddings),
               "the embeddings by pieces on a grid");
  T* x = pass.arena.template alloc<T>(pass.local_numel(cfg_.dim));
  // wte[token] then + wpe[t]: the same sum, element by element, as the fused lookup. One unit
  // at a time (ZeRO-3 hands a pass one unit's parameters).
  in_unit(pass, kEmbeddings, Use::forward, wpe_unit(), false, [&] {
    grid_lookup_forward(pass, pass.param(wte_), vocab_first_, vocab_rows_, cfg_.dim, x);
  });
  in_unit(pass, wpe_unit(), Use::forward, next, false, [&] {
    kernels::positions_forward<T>(x, pass.param(wpe_), pass.rows(), pass.Tn,
                                  pass.local_width(cfg_.dim), pass.positions);
  });
  pass.record.save(id_, kX0, x);
  return x;
}

template <typename T>
void Gpt2<T>::embedding_backward_grid(Pass<T>& pass, const T* dx) {
  PARTI_ASSERT(pass.hooks == nullptr || !pass.hooks->by_pieces(kEmbeddings),
               "the embeddings' gradient by pieces on a grid");
  const int Cl = pass.local_width(cfg_.dim);
  in_unit(pass, kEmbeddings, Use::grads_only, -1, true, [&] {
    grid_lookup_backward(pass, pass.grad(wte_), vocab_first_, vocab_rows_, cfg_.dim, dx);
  });
  in_unit(pass, wpe_unit(), Use::grads_only, -1, true, [&] {
    // wpe: this rank's samples' share, summed over the grid column.
    Scratch<T> scratch(pass);
    const size_t n = table_.spec(wpe_).numel;
    T* dwpe = scratch.alloc_zero(n);
    kernels::embedding_backward<T>(nullptr, dwpe, dx, pass.record.tokens, pass.rows(), pass.Tn, Cl,
                                   pass.positions);
    tp_reduce_param_grad(pass, dwpe, n);
    kernels::add_into<T>(pass.grad(wpe_), dwpe, n);
  });
}

template float* Gpt2<float>::embed_grid(Pass<float>&, int);
template double* Gpt2<double>::embed_grid(Pass<double>&, int);
template void Gpt2<float>::embedding_backward_grid(Pass<float>&, const float*);
template void Gpt2<double>::embedding_backward_grid(Pass<double>&, const double*);

}  // namespace parti::model::gpt2
