// Ring attention (issue #8): causal multi-head attention over sequences split across the cp group,
// without any rank holding the whole sequence's keys, values or a T x T score matrix.
//
// Layout. Each sequence of T tokens is cut into 2C chunks of L = T / (2C) tokens. Under the
// balanced assignment, cp rank i holds chunks i and 2C-1-i (the causal work then evens out: every
// rank meets 2C + 1 of the (query chunk, key chunk) pairs at or below the diagonal); without it,
// chunks 2i and 2i+1 (contiguous halves: rank C-1 does (4C-1) / 3 times rank 0's work). A rank's
// tensors hold its two chunks in that order: local token t is chunk chunks()[t / L], global
// position chunks()[t / L] * L + t % L.
//
// Forward. qkv (B, 2L, 3C) as the plain kernel's. Step s = 0 .. C-1, the rank holds the key/value
// block (k and v of both chunks) of cp rank (i - s) mod C; it sends that block to rank i + 1 and
// receives the next from rank i - 1 while it computes (double-buffered, non-blocking). For each
// (query chunk, key chunk) pair: key chunk after the query chunk is skipped (not computed and
// masked), before it unmasked, the same chunk causally masked; the scores of one (b, h) and pair
// (L x L, transient) update a running max m, sum of exponentials l and output accumulator
// (flash attention's rescaling). At the end out = acc / l and lse = m + log l (saved).
//
// Backward, from q, k, v, out, lse and dout: D = rowsum(dout * out); per pair P = exp(S - lse),
// dV += P^T dO, dS = P * (dO V^T - D), dQ += dS K / sqrt(HS), dK += dS^T Q / sqrt(HS). The
// key/value blocks travel the ring as in forward; each block's dK, dV partial sums travel with
// it one step behind (a rank adds the sum it receives from rank i - 1 to its own contribution and
// sends it on), so after C steps every block's gradient reaches its owner complete.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "parti/dist/process_group.h"
#include "parti/parallel/context/context.h"

namespace parti::parallel::context {

// What calls did on this rank (added up): the attention FLOPs of the pairs computed (4 L^2 HS per
// pair and head, Q K^T and P V; backward 10: S again, dP, dV, dQ and dK), the bytes sent, the
// seconds of arithmetic, the seconds waited for transfers that had arithmetic to hide behind
// (each ring step's key/value block, the partial dK/dV sums passed on) once that arithmetic was
// done, and the seconds backward waited at the end for its own block's complete dK/dV (the last
// hand-off, which nothing is left to hide behind).
struct RingStats {
  double flops = 0.0;
  int64_t bytes_sent = 0;
  double wait_s = 0.0;
  double compute_s = 0.0;
  double tail_s = 0.0;
  int transfers = 0;  // that had arithmetic to hide behind
  int hidden = 0;     // of them, complete when the arithmetic was done
  int pairs = 0;      // (query chunk, key chunk) pairs computed, per (b, h)
  int skipped = 0;    // pairs above the diagonal, skipped
};

struct RingShape {
  int B, T, C, NH;       // T: the whole sequence; C: the model width (all of it on this rank)
  bool balanced = true;  // the 2C-chunk assignment (false: contiguous halves, for tests)
};

// out (B, 2L, C), lse (B, NH, 2L), qkv (B, 2L, 3C); cp: the context-parallel group.
void ring_attention_forward(dist::ProcessGroup& cp, const RingShape& shape, float* out, float* lse,
                            const float* qkv, RingStats* stats = nullptr);
// dqkv (B, 2L, 3C) +=
void ring_attention_backward(dist::ProcessGroup& cp, const RingShape& shape, float* dqkv,
                             const float* dout, const float* qkv, const float* out,
                             const float* lse, RingStats* stats = nullptr);

// The model's entry points (a layer's attention under context parallelism): the group, the chunk
// assignment and the counters come from the pass's context; T is the whole sequence (the rank's
// tokens times cp), C and NH this rank's width and heads.
void ring_attention_forward(const ContextParallel& cp, int B, int T, int C, int NH, float* out,
                            float* lse, const float* qkv);
void ring_attention_backward(const ContextParallel& cp, int B, int T, int C, int NH, float* dqkv,
                             const float* dout, const float* qkv, const float* out,
                             const float* lse);

}  // namespace parti::parallel::context
