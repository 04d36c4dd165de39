// Activation elements of one micro-batch, module by module, as the model allocates them from the
// micro-batch's arena (model/*/*.cpp): what forward saves, what backward keeps, the scratch one
// block's backward takes and frees. For a rank of tensor group size t with sequence parallelism
// or not: N = B T / cp tokens, n = (sp ? N / t : N) C the residual stream, Cl = C / t,
// H = hidden / t (the MLP's width, 4 C for GPT-2), A = B (NH / t) T T the attention
// probabilities, with dropout times 2 + m (its output and byte mask, m = 1 / element size); under
// cp only the log-sum-exp of each local row, B (NH / t) T / cp, which selective recomputation
// keeps; likewise under a flash kernel; Vl = Vp / t the vocabulary columns. What differs by family
// (norm statistics, the MLP's saved tensors, the linear layers) comes from its footprint
// (model/footprint.h); both families' attention keeps q, k, v (key/value heads repeated) and
// its output.
#pragma once

#include <vector>

#include "parti/model/footprint.h"
#include "parti/plan/memory.h"

namespace parti::plan {

// Of the T x T square, the share a rank's ring attention computes: its 2 cp + 1 of the (2 cp)^2
// chunk pairs (cp 1: 3 of 4, the ring on one rank); the plain causal kernel does about half.
inline double ring_square_share(int cp) { return (2.0 * cp + 1) / (4.0 * cp * cp); }

struct Shapes {
  Shapes(const Workload& w, const Layout& l, const Precision& p);
  model::Footprint fp;
  double N, lt, n, C, Cl, H, A, Vl, NC;
  int tp, cp;
  int q = 1;  // block partitioning: the grid's side (N: the grid row's tokens, widths / q)
  bool sp;
  // The attention kernel writes its scores to memory: S of them per rank and micro-batch (the
  // T x T square per head; under cp the ring's 2 cp + 1 chunk pairs of (T / 2 cp)^2, which it
  // makes again in backward); it keeps the probabilities (A) only without cp.
  bool scores = true;
  double S = 0;
  bool scores_made_again() const { return scores && cp > 1; }  // the ring's backward
  // Backward reads the probabilities forward kept; a flash kernel or the ring kept only each
  // row's log-sum-exp and makes the scores' product (q k^T) again.
  bool probabilities_kept() const { return scores && cp == 1; }
  bool eager = false;            // element-wise ops run as eager PyTorch's chains of small kernels
  std::string loss;              // the loss's kernel (the workload's)
  bool tp_comm_overlap = false;  // sp's collectives hidden behind the products (the workload's)
  bool pp_scatter_gather = false;  // stage sends in 1/t pieces, gathered (the workload's)
  bool pp_blocking_sends = false;  // each send and receive a blocking transfer (the workload's)
  // Bytes per weight element that each micro-batch's gradient accumulation moves outside the
  // products: 0 when fused (the workload's), else the fresh gradient and the fp32 buffer twice
  // (under ZeRO-2/3 over the rank's shard of them).
  double accumulation_bytes = 0;
  double logit_kept = 1;  // activation elements kept per logit for backward (unfused: fp32)
  // Dropout (the workload's). On the attention probabilities (materialized scores only): the
  // passes it adds over the scores in forward (read the probabilities, write its output and a
  // 1-byte mask) and again in backward (read the output's gradient and the mask, write the
  // probabilities'); A then also holds its output and mask. On the residual stream:
  // `hidden_mask` activation elements kept per element (a byte each; after the embedding and
  // each sublayer).
  double dropout_passes = 0, hidden_mask = 0;
  double vocab = 0;  // the padded vocabulary (the grid's output projection, a SUMMA product)
  std::string recompute;
  // Saved by one block's forward (kept until its backward), and its forward's peak above that.
  double block_saved() const;
  double block_forward_extra() const;
  // Taken and freed by one block's backward (scoped), including a full recomputation.
  double block_backward_scratch() const;
  // Copies queued for the deferred weight gradients of one block (zero-bubble I until W).
  double block_deferred() const;
  double embedding_saved() const { return n + hidden_mask * n; }
  double head_saved() const;
  // Kept by a chunk's backward until the micro-batch is done: the gradient flow buffers (and the
  // head's final-norm gradient).
  double backward_kept(bool head) const { return (head ? 3 : 2) * n; }
  // The sublayer workspace's peak (tp gathers and partial sums, selective recomputation).
  double workspace() const;
};

// Peak activation elements of pipeline stage `s` (pp = 1: the whole model, one micro-batch).
// `exact`: walk the stage's lowered list as the executor does; else closed forms.
double activation_elements(const Shapes& shapes, const Workload& w, const Layout& l,
                           const std::vector<int>& split, int s, bool exact);

}  // namespace parti::plan
