#include "parti/parallel/tensor/vocab_embedding.h"

#include "parti/kernels/embedding.h"
#include "parti/parallel/tensor/grid_vocab.h"

namespace parti::parallel::tensor {

template <typename T>
VocabParallelEmbedding<T>::VocabParallelEmbedding(model::ParamTable& table, const std::string& name,
                                                  int vocab, int padded_vocab, int C)
    : C_(C),
      weight_(
          table.add(name, {padded_vocab, C}, model::Init::normal, true, vocab, grid_vocab_cut())) {
  rows_ = static_cast<int>(table.spec(weight_).shape[0]);
  first_ = rows_ * table.tp().col();
  valid_ = static_cast<int>(table.spec(weight_).logical_rows);
}

template <typename T>
void VocabParallelEmbedding<T>::forward(const Pass<T>& pass, T* out) const {
  if (pass.block()) {
    grid_lookup_forward(pass, pass.param(weight_), first_, rows_, C_, out);
    return;
  }
  Scratch<T> scratch(pass);
  T* sum = tp_partial_output(pass, out, C_, scratch);
  kernels::lookup_forward<T>(sum, pass.record.tokens, pass.param(weight_), first_, rows_,
                             static_cast<int>(pass.tokens()), C_);
  tp_reduce_output(pass, sum, out, C_);
}

template <typename T>
void VocabParallelEmbedding<T>::backward(const Pass<T>& pass, const T* dout) const {
  if (pass.block()) {
    grid_lookup_backward(pass, pass.grad(weight_), first_, rows_, C_, dout);
    return;
  }
  Scratch<T> scratch(pass);
  const T* all = tp_gather(pass, dout, C_, scratch);  // every token's gradient
  kernels::lookup_backward<T>(pass.grad(weight_), all, pass.record.tokens, first_, rows_,
                              static_cast<int>(pass.tokens()), C_);
}

template class VocabParallelEmbedding<float>;
template class VocabParallelEmbedding<double>;

}  // namespace parti::parallel::tensor
