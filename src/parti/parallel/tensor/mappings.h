// Megatron's conjugate operators for a tensor-parallel layer (Shoeybi et al. 2019; Megatron-core
// tensor_parallel/mappings.py), the only way a layer reaches its tp group. A column-parallel
// product needs its input whole on every rank and gives each rank its columns; a row-parallel
// product takes those columns and gives each rank a partial sum of the whole output. With
// sequence parallelism (Korthikanti et al. 2022) the activations between sublayers are split by
// tokens, and all-gathers and reduce-scatters replace the all-reduces:
//
//   around a product                  forward                        backward
//   column-parallel input (f)         tp_gather: identity | all-gather (sp)
//                                                                    tp_add_input_grad: all-reduce
//                                                                    | reduce-scatter (sp)
//   row-parallel output (g)           tp_reduce_output: all-reduce   tp_gather of dout: identity
//                                     | reduce-scatter (sp)          | all-gather (sp)
//   replicated weight gradient        -                              tp_all_reduce (sp: each rank
//                                                                    saw only its tokens)
//
// Without tp (pass.tp null) every one of them is nothing, or a copy where it adds. Under block
// partitioning (issue #21) a linear layer's SUMMA products (summa.h) take and give the grid's
// blocks themselves: f and g are nothing, and only the norms' statistics (grid_norm.h) and the
// gradients of parameters a grid column shares (tp_reduce_param_grad) communicate here.
#pragma once

#include <cstddef>

#include "parti/dist/process_group.h"
#include "parti/model/module.h"
#include "parti/parallel/tensor/context.h"

namespace parti::parallel::tensor {

using model::Pass;

// The context of a layer on `group` (sp: sequence parallelism, when the group has several ranks).
TensorParallel make_tensor_parallel(dist::ProcessGroup& group, bool sp);

// The context of a block-partitioned layer: `group` a grid x grid grid (rank = row grid + col),
// `row_group` the ranks of this rank's grid row (ordered by column), `col_group` of its column.
TensorParallel make_block_parallel(dist::ProcessGroup& group, dist::ProcessGroup& row_group,
                                   dist::ProcessGroup& col_group, int grid);

// The tp size of the pass's table (1 without tensor parallelism); asserts the pass has a context
// of that size when the table was built for more than one rank.
template <typename T>
int tp_size(const Pass<T>& pass);

// data (n) <- the sum over the ranks that hold parts of the same rows (the tp group; on a grid,
// the grid row); nothing at tp = 1.
template <typename T>
void tp_all_reduce(const Pass<T>& pass, T* data, size_t n);
// data (n) <- the element-wise maximum over the same ranks.
template <typename T>
void tp_all_reduce_max(const Pass<T>& pass, T* data, size_t n);
// The micro-batch's loss from this rank's tokens' `sum`: itself, or on a grid the sum over the
// grid column (each grid row holds its samples' losses).
template <typename T>
double tp_total_loss(const Pass<T>& pass, double sum);

// A gradient (n) of a parameter that several ranks hold whole but whose tokens differ: each
// rank's share, summed over them (sp: the tp group; block partitioning: the grid column).
template <typename T>
void tp_reduce_param_grad(const Pass<T>& pass, T* data, size_t n);
// Whether a parameter gradient needs tp_reduce_param_grad.
template <typename T>
bool tp_partial_param_grads(const Pass<T>& pass) {
  return pass.sp() || pass.block();
}

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
// Likewise into `all` (tokens, width), which outlives the sublayer (the output projection's
// input, kept for backward); nothing to do (and `all` unused) without sequence parallelism.
template <typename T>
const T* tp_gather_into(const Pass<T>& pass, const T* in, int width, T* all);

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

}  // namespace parti::parallel::tensor
