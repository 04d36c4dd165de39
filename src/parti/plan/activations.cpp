#include "parti/plan/activations.h"

#include <algorithm>
#include <map>

#include "parti/model/registry.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::plan {
namespace {

namespace pipeline = parallel::pipeline;
using pipeline::Op;

// What chunk c (global index) of a split keeps and takes, in elements.
struct ChunkSizes {
  double saved, forward_extra, kept, scratch, deferred;
};

ChunkSizes chunk_sizes(const Shapes& sh, const std::vector<int>& split, int c) {
  const int blocks = split[static_cast<size_t>(c)];
  const bool head = c + 1 == static_cast<int>(split.size());
  ChunkSizes z{};
  z.saved = (c == 0 ? sh.embedding_saved() : 0) + blocks * sh.block_saved() +
            (head ? sh.head_saved() : 0);
  z.forward_extra = blocks > 0 ? sh.block_forward_extra() : 0;
  z.kept = sh.backward_kept(head);
  z.scratch = blocks > 0 ? sh.block_backward_scratch() : 0;
  z.deferred = blocks * sh.block_deferred() + (head ? sh.fp.norm_tensors * sh.C : 0);  // ln_f's
  return z;
}

// The executor's accounting (parallel/pipeline/executor.cpp), replayed on the stage's list: one
// slot per micro-batch-chunk from its first use (a posted receive or its forward) until both its
// backward (W under zb) is done and its input gradient is sent; receives are posted before the
// instruction up to the second compute from here; at each compute, the live slots' bytes plus
// this compute's peak.
double walk(const Shapes& sh, const std::vector<int>& split, const pipeline::Schedule& schedule,
            int stage) {
  struct Slot {
    double used = 0, deferred = 0, outgoing = 0;
    bool done = false, grad_posted = false;
  };
  // Released slots whose gradient copy may still be on its way: counted through the next
  // compute (the executor frees them when the send is seen complete).
  double retiring = 0, retired_now = 0;
  std::map<std::pair<int, int>, Slot> live;
  const auto slot = [&](const pipeline::Instruction& in) -> Slot& {
    auto [it, fresh] = live.try_emplace({in.micro_batch, in.chunk});
    if (fresh) {
      it->second.grad_posted = in.chunk == 0;
    }
    return it->second;
  };
  const auto release = [&](const pipeline::Instruction& in) {
    auto it = live.find({in.micro_batch, in.chunk});
    if (it != live.end() && it->second.done && it->second.grad_posted) {
      retired_now += it->second.outgoing;
      live.erase(it);
    }
  };
  const std::vector<pipeline::Instruction>& list = schedule.per_rank[static_cast<size_t>(stage)];
  size_t posted = 0;
  double peak = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    for (const size_t j = pipeline::receive_horizon(list, i); posted < j; ++posted) {
      if (pipeline::is_receive(list[posted].op)) {
        slot(list[posted]).used += sh.n;
      }
    }
    const pipeline::Instruction& in = list[i];
    if (in.op == Op::send_grad) {
      Slot& s = slot(in);
      s.grad_posted = true;
      s.outgoing = sh.n;
      release(in);
      continue;
    }
    if (!pipeline::is_compute(in.op)) {
      continue;
    }
    Slot& s = slot(in);
    retiring += retired_now;
    retired_now = 0;
    double sum = retiring;
    for (const auto& [key, other] : live) {
      sum += other.used + other.deferred + other.outgoing;
    }
    const ChunkSizes z = chunk_sizes(sh, split, in.chunk);
    switch (in.op) {
      case Op::forward:
        peak = std::max(peak, sum + z.saved + z.forward_extra);
        s.used += z.saved;
        break;
      case Op::backward:
      case Op::backward_input: {
        const double deferred = in.op == Op::backward_input ? z.deferred : 0;
        peak = std::max(peak, sum + z.kept + z.scratch + deferred);
        s.used += z.kept;
        s.deferred += deferred;
        s.done = in.op == Op::backward;
        break;
      }
      case Op::backward_weight:
        peak = std::max(peak, sum);
        s.deferred = 0;
        s.done = true;
        break;
      default:
        break;
    }
    release(in);
    retiring = 0;
  }
  return peak;
}

}  // namespace

Shapes::Shapes(const Workload& w, const Layout& l, const Precision& p)
    : fp(model::footprint(w.model)),
      tp(l.tp),
      cp(l.cp),
      sp(l.sp && l.tp > 1),
      scores(w.attention == "materialized"),
      eager(w.kernels == "eager"),
      loss(w.loss),
      tp_comm_overlap(w.tp_comm_overlap),
      pp_scatter_gather(w.pp_scatter_gather),
      pp_blocking_sends(w.pp_blocking_sends),
      recompute(l.recompute) {
  const model::ModelConfig& m = w.model;
  const double B = l.micro_batch, T = m.seq_len;
  N = B * T / cp;
  C = m.dim;
  lt = sp ? N / tp : N;
  n = lt * C;
  NC = N * C;
  Cl = C / tp;
  H = fp.hidden / tp;
  Vl = static_cast<double>(m.padded_vocab()) / tp;
  vocab = m.padded_vocab();
  double rows = B, heads = m.heads / tp;  // the attention's samples and heads on this rank
  q = l.grid();
  if (q > 1) {  // rank (i, j): grid row i's samples by grid column j's width, heads, units, vocab
    N = B / q * T / cp;
    lt = N;
    n = lt * C / q;
    NC = N * C;
    Cl = C / q;
    H = fp.hidden / q;
    rows = B / q;
    heads = m.heads / q;
    Vl = vocab / q;
  }
  const bool probabilities = probabilities_kept();
  const double pairs = cp > 1 ? ring_square_share(cp) : 1.0;  // of the T x T square
  A = probabilities ? rows * heads * T * T : rows * heads * T / cp;
  S = scores ? rows * heads * T * T * pairs : 0.0;
  if (!probabilities && recompute == "selective") {
    recompute = "none";  // ring or flash attention keeps only the log-sum-exp: nothing to redo
  }
  const double mask = 1.0 / p.activation;  // a 1-byte mask in activation elements
  if (scores && w.attention_dropout > 0) {
    dropout_passes = 2 + mask;
    if (probabilities) {
      A *= 2 + mask;  // the dropout's output and mask beside the probabilities
    }
  }
  hidden_mask = w.hidden_dropout > 0 ? mask : 0.0;
  logit_kept = loss == "fused" ? 1.0 : 4.0 / p.activation;
  // Without a bf16 copy the gradients come in the fp32 weights' type. ZeRO-2/3 reduce-scatter
  // each micro-batch's gradients: what is added is the rank's shard.
  const double fresh = master_only(w, p) ? p.master : p.param;
  const double shard = l.zero >= 2 ? l.grad_ranks() : 1;
  accumulation_bytes = w.grad_accumulation_fusion ? 0.0 : (fresh + 2 * p.grad) / shard;
}

double Shapes::block_forward_extra() const {
  // Full recomputation drops the block's body at the end of its forward: its peak is above.
  return recompute == "full" ? 4 * n + 2 * fp.norm_stats * lt + 4 * N * Cl + A +
                                   fp.hidden_saved * N * H + 2 * hidden_mask * n
                             : 0;
}

double Shapes::block_saved() const {
  if (recompute == "full") {
    return n;  // the block's output (the next one's input)
  }
  // The output, norm_1(x), attn(.), x + attn, norm_2(x1); the norms' statistics; q k v, the
  // attention output and (unless selective) its probabilities and their dropout; the MLP's
  // hidden tensors; the two sublayers' dropout masks.
  return 5 * n + 2 * fp.norm_stats * lt + 4 * N * Cl + (recompute == "selective" ? 0 : A) +
         fp.hidden_saved * N * H + 2 * hidden_mask * n;
}

double Shapes::block_backward_scratch() const {
  // Gradients of norm_2's output, the residual and norm_1's output; of the MLP's hidden
  // tensors; of the attention output and of q k v. Full recomputation runs the forward first.
  const double grads = 3 * n + fp.hidden_saved * N * H + 4 * N * Cl;
  return recompute == "full" ? grads + n + block_forward_extra() : grads;
}

double Shapes::block_deferred() const {
  // Each linear layer's output gradient and input (a column-parallel layer reads every feature
  // and writes its part of the outputs, a row-parallel one the reverse); the two norms' weight
  // (and bias) gradients.
  double sum = 2.0 * fp.norm_tensors * C;
  for (const model::Footprint::Linear& f : fp.layer) {
    sum += f.column ? N * (f.in + f.out / tp) : N * (f.in / tp + f.out);
  }
  return sum;
}

double Shapes::head_saved() const {
  // The final norm's output (gathered whole under sp) and statistics, the logits (probabilities,
  // then their gradient; fp32 under an unfused loss), per-token losses, and at tp > 1 the row
  // maxima and the two sums.
  return n + fp.norm_stats * lt + (sp ? NC : 0) + logit_kept * N * Vl + N + (tp > 1 ? 3 * N : 0);
}

double Shapes::workspace() const {
  if (q > 1) {
    // A SUMMA backward holds 5 blocks of its input (the broadcast pair, the partial pair, the
    // reduced sum) and 5 of its weight: the largest product's, the output projection's at most.
    double ws = 5 * N * C / q + 5 * (C / q) * Vl;
    for (const model::Footprint::Linear& f : fp.layer) {
      ws = std::max(ws, 5 * N * f.in / q + 5 * (f.in / q) * (f.out / q));
    }
    return ws + (recompute == "selective" ? A + N * Cl : 0);
  }
  // Inside one sublayer's backward: without sp the tp partial input gradient (N C); with sp the
  // gathered output gradient and input, the partial input gradient and this rank's part of it;
  // selective recomputation adds the probabilities (and their dropout) made again and an unused
  // output.
  double ws = tp > 1 ? (sp ? 3 * NC + n : NC) : 0;
  if (recompute == "selective") {
    ws += A + N * Cl;
  }
  return ws;
}

double activation_elements(const Shapes& sh, const Workload& w, const Layout& l,
                           const std::vector<int>& split, int s, bool exact) {
  if (l.pp == 1) {
    const ChunkSizes z = chunk_sizes(sh, split, 0);
    return z.saved + z.kept + z.scratch;
  }
  const int M = l.micro_batches(w.global_batch), V = l.virtual_stages, P = l.pp;
  if (exact) {
    return walk(sh, split, pipeline::make_schedule(l.schedule, P, M, V), s);
  }
  // Closed form: the in-flight micro-batch-chunks each hold their input and what their forward
  // saved (this stage's chunks on average), one backward's kept buffers and scratch on top.
  double saved = 0, scratch = 0, deferred = 0, kept = 0;
  for (int c = s; c < P * V; c += P) {
    const ChunkSizes z = chunk_sizes(sh, split, c);
    saved += z.saved / V;
    scratch = std::max(scratch, z.scratch);
    deferred = std::max(deferred, z.deferred);
    kept = std::max(kept, z.kept);
  }
  const int k = in_flight(l.schedule, P, M, V, s);
  return k * (saved + (s > 0 ? sh.n : 0)) + kept + scratch + sh.n +
         (l.schedule == "zb" ? deferred : 0);
}

}  // namespace parti::plan
