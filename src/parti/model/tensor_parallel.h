// Megatron's conjugate operators for a tensor-parallel layer (Shoeybi et al. 2019): a
// column-parallel product needs its input whole on every rank and gives each rank its columns;
// a row-parallel product takes those columns and gives each rank a partial sum of the whole
// output. Hence, per sublayer, one all-reduce after the row-parallel product in forward (g) and
// one of the column-parallel input gradient in backward (f). Without tp these are nothing.
// With sequence parallelism (Korthikanti et al. 2022) the activations between sublayers are
// split by tokens: an all-gather of the input precedes the column-parallel product (and again
// in backward, for the weight gradient, instead of keeping the whole input), a reduce-scatter
// replaces each all-reduce, and the output gradient is all-gathered in backward.
#pragma once

#include <cstddef>

#include "parti/model/module.h"

namespace parti::model {

// The tp group's size for this table (1 without tensor parallelism); asserts the pass has the
// group when the table was built for more than one rank.
template <typename T>
int tp_size(const Pass<T>& pass);

// data (n) <- the sum over the tp group (nothing at tp = 1).
template <typename T>
void tp_all_reduce(const Pass<T>& pass, T* data, size_t n);

// Scratch from pass.workspace, released when it goes out of scope (stack order); without a
// workspace, from the activation arena until the micro-batch ends.
template <typename T>
class Scratch {
 public:
  explicit Scratch(const Pass<T>& pass)
      : arena_(pass.workspace != nullptr ? *pass.workspace : pass.arena),
        mark_(arena_.mark()),
        rewind_(pass.workspace != nullptr) {}
  ~Scratch() {
    if (rewind_) {
      arena_.rewind(mark_);
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* alloc(size_t n) { return arena_.template alloc<T>(n); }
  T* alloc_zero(size_t n) { return arena_.template alloc_zero<T>(n); }

 private:
  core::Arena& arena_;
  core::Arena::Mark mark_;
  bool rewind_;
};

// The whole (tokens, width) input of a column-parallel product: `in` itself, or under sequence
// parallelism the all-gather of every rank's chunk (into scratch).
template <typename T>
const T* tp_gather(const Pass<T>& pass, const T* in, int width, Scratch<T>& scratch);

// Where a row-parallel product writes its partial (tokens, width) sum: `out`, or under sequence
// parallelism scratch; then tp_reduce_output sums it over tp into `out` (all-reduce, or the
// reduce-scatter of this rank's chunk).
template <typename T>
T* tp_partial_output(const Pass<T>& pass, T* out, int width, Scratch<T>& scratch);
template <typename T>
void tp_reduce_output(const Pass<T>& pass, T* partial, T* out, int width);

// A column-parallel input gradient: dinp (local tokens, width) += the sum over tp of `partial`
// (all tokens), by all-reduce or (sequence parallel) reduce-scatter.
template <typename T>
void tp_add_input_grad(const Pass<T>& pass, T* partial, T* dinp, int width, Scratch<T>& scratch);

// out (N, C) += bias (C) on every row.
template <typename T>
void add_bias(T* out, const T* bias, int N, int C);

// out (n) += in (n).
template <typename T>
void add_into(T* out, const T* in, size_t n);

}  // namespace parti::model
