// The vocabulary of a block-partitioned model (issue #21). The (Vp, C) table (GPT-2's tied wte,
// Llama's embed_tokens and lm_head) is cut like an (out, in) linear weight on the grid: rank
// (a, b) holds the b-th part of the vocabulary rows and the a-th part of the width
// (grid_vocab_cut). The output projection is then a SUMMA product (summa.h) whose logits come out
// as rank (i, j)'s tokens by its grid column's vocabulary part, which vocabulary-parallel
// cross-entropy reduces along the grid row. The lookup needs the width part of the grid's
// column where the table holds it by row, so it moves through the transposed rank:
//   forward    rank (a, b) looks up every token of the micro-batch in its rows (zeros for the
//              others); a reduce-scatter along grid row a gives it width part a of sample part
//              b, complete; it sends that to rank (b, a), whose block it is.
//   backward   rank (i, j) sends its block's gradient to rank (j, i); an all-gather along grid
//              row j gives every rank there width part j of every token, of which each adds
//              its vocabulary rows' into its table's gradient.
#pragma once

#include "parti/model/module.h"

namespace parti::parallel::tensor {

using model::Pass;

// 1D: rows over tp (Megatron's vocabulary-parallel table); on the grid as above.
inline constexpr model::TpCut grid_vocab_cut() { return {0, 1, 0, 1}; }

// out (local tokens, C / q): the rank's block of the rows of pass.record.tokens; `table` its part
// (rows x C / q) holding vocabulary ids [first, first + rows).
template <typename T>
void grid_lookup_forward(const Pass<T>& pass, const T* table, int first, int rows, int C, T* out);
// dtable (rows x C / q) += the rows of the gradient dout (local tokens, C / q).
template <typename T>
void grid_lookup_backward(const Pass<T>& pass, T* dtable, int first, int rows, int C,
                          const T* dout);

// The output projection logits (product tokens, rows) = xf W^T of the table W (its part: rows x
// C in 1D, rows x C / q on the grid): a plain product of every token in 1D, SUMMA's on the grid.
template <typename T>
void vocab_projection_forward(const Pass<T>& pass, int weight, int rows, int C, const T* xf,
                              T* logits);
// dxf += dlogits W (in 1D a partial sum over tp, which the caller reduces), W's gradient +=
// dlogits^T xf (deferred under pass.deferred, keeping dlogits and xf: they outlive the queue).
template <typename T>
void vocab_projection_backward(const Pass<T>& pass, int weight, int rows, int C, const T* dlogits,
                               const T* xf, T* dxf);

}  // namespace parti::parallel::tensor
