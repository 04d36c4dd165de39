// A token embedding split by vocabulary rows over tp (Megatron-core's VocabParallelEmbedding):
// rank r holds rows [r Vp / tp, (r + 1) Vp / tp) of the (Vp, C) table (Vp: the vocabulary padded
// to a multiple of 128; the rows past V are padding, logically absent). The lookup writes a
// rank's own rows and zeros for the other ids, then sums over tp (all-reduce, or the
// reduce-scatter of this rank's tokens under sp): every row is the table's row again, exactly.
// The same rows are this rank's vocabulary columns of a tied output projection (first_row, rows)
// and of vocabulary-parallel cross-entropy. GPT-2 keeps its own lookup (learned positions added
// in the same pass, and ZeRO-3's pieces); Llama uses this one. On a grid (issue #21) the table
// and its lookup are grid_vocab.h's.
#pragma once

#include <cstdint>
#include <string>

#include "parti/model/module.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::parallel::tensor {

template <typename T>
class VocabParallelEmbedding {
 public:
  // Registers `name` (vocab x C, stored padded) in the table.
  VocabParallelEmbedding(model::ParamTable& table, const std::string& name, int vocab,
                         int padded_vocab, int C);
  int weight() const { return weight_; }
  int first_row() const { return first_; }   // this rank's first vocabulary id
  int rows() const { return rows_; }         // its rows (Vp / tp)
  int valid_rows() const { return valid_; }  // of them, below V
  // out (local tokens, C) = the rows of pass.record.tokens (every token of the pass).
  void forward(const Pass<T>& pass, T* out) const;
  // The table's gradient += the rows of dout (local tokens, C; gathered under sp).
  void backward(const Pass<T>& pass, const T* dout) const;

 private:
  int C_;
  int weight_;
  int first_ = 0, rows_ = 0, valid_ = 0;
};

}  // namespace parti::parallel::tensor
