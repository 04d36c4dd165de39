#include "parti/plan/time.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "parti/parallel/pipeline/schedule.h"
#include "parti/plan/activations.h"
#include "parti/plan/memory.h"

namespace parti::plan {
namespace {

namespace pipeline = parallel::pipeline;

// Ranks in a group of size g whose members are `stride` ranks apart span one node when
// stride * g <= devices per node (the mesh: tp fastest, then cp, dp, pp).
const Link& link_for(int stride, int g, const Hardware& hw, const Cluster& c) {
  return static_cast<long>(stride) * g <= c.devices_per_node ? hw.intra : hw.inter;
}

// The link a collective over such a group sees, per rank. Across nodes a ring with k members on
// each node stripes its traffic over min(k, rails) of the node's network links (NCCL's channels,
// one per NIC of a DGX node), each carrying what its `nic_ranks` ranks would share, and its hops
// inside the node run on the intra-node link. The node's other ranks, in devices / k groups of
// their own, cross at the same time: each group gets k devices' shares of the node's links, so
// min(k, min(k, rails) x nic_ranks) x the per-device bandwidth, at most the intra-node one. (A
// calibrated node of 2 ranks on one shared link: a ring of both gets the link alone, 2 shares.)
Link ring_link(int stride, int g, const Hardware& hw, const Cluster& c) {
  Link out = link_for(stride, g, hw, c);
  if (static_cast<long>(stride) * g > c.devices_per_node && stride < c.devices_per_node) {
    const int k = std::min(g, c.devices_per_node / stride);
    const double shares =
        std::min<double>(k, std::min(k, hw.inter.rails) * std::max(1, hw.inter.nic_ranks));
    out.bandwidth_gbs =
        std::min(out.bandwidth_gbs * shares, std::max(hw.intra.bandwidth_gbs, out.bandwidth_gbs));
  }
  return out;
}

double gb(double bytes) { return bytes / 1e9; }

// Seconds of device-memory traffic that `bytes` a collective moves behind compute take from it
// (the profile's overlap_memory_accesses per byte, at the memory bandwidth).
double hidden_traffic_s(double bytes, const Hardware& hw) {
  return bytes * hw.overlap_memory_accesses / (hw.memory_bandwidth_gbs * 1e9);
}

// The link as k of a node's R ranks see it while they cross at once: the node's ranks share its
// network links `nic_ranks` to a link, so fewer crossing get a larger share each.
Link crossing(const Link& link, int k, int R) {
  if (link.nic_ranks <= 1 || R <= 1) {
    return link;
  }
  const double n = link.nic_ranks;
  const double on_link = std::clamp(k * n / R, 1.0, n);
  Link out = link;
  out.bandwidth_gbs *= n / on_link;
  return out;
}

// Seconds of one micro-batch's work on one rank, by part.
struct Work {
  double forward = 0, input = 0, weight = 0;  // backward = input + weight
  double tp_comm_forward = 0, tp_comm_backward = 0;
  double cp_comm_forward = 0, cp_comm_backward = 0;  // ring transfers not hidden
};

struct Model {
  const Shapes& sh;
  const Hardware& hw;
  const Precision& p;
  Link tp_link;
  Link cp_link;
  int tp;
  // Block partitioning: the grid's row group (neighbouring ranks) and column group (q apart).
  Link row_link;
  Link col_link;

  double gemm(double m, double n, double k) const {
    return 2 * m * n * k / hw.gemm_flops(m, n, k, p.dtype());
  }
  double stream(double elements) const {
    return elements * p.activation / (hw.memory_bandwidth_gbs * 1e9);
  }
  // Adding one micro-batch's gradients of `elements` weights into the buffer outside the
  // products (Shapes::accumulation_bytes; none when the products accumulate).
  double accumulate(double elements) const {
    return elements * sh.accumulation_bytes / (hw.memory_bandwidth_gbs * 1e9);
  }
  double ar(double elements) const { return all_reduce_s(elements * p.activation, tp, tp_link); }
  double ag(double elements) const { return all_gather_s(elements * p.activation, tp, tp_link); }

  // One activation (or its gradient) sent to the neighbouring stage over `link`: the rank's n
  // elements, or under the workload's scatter/gather without sp a 1/t piece of them, which the
  // receiving stage's tp group then gathers. Where every send and receive blocks on its own
  // (the workload's pp_blocking_sends), a stage's slot waits for its receive and its send in
  // turn on each side: twice the paired exchange's time.
  double p2p(const Layout& l, const Link& link) const {
    if (l.pp == 1) {
      return 0;
    }
    const bool pieces = sh.pp_scatter_gather && !sh.sp && tp > 1 && sh.q == 1;
    const double sent = pieces ? sh.n / tp : sh.n;
    const double one = link.latency_us * 1e-6 + gb(sent * p.activation) / link.bandwidth_gbs +
                       (pieces ? ag(sh.n) : 0.0);
    return sh.pp_blocking_sends ? 2 * one : one;
  }

  // A SUMMA product of K inputs and `out` outputs on the grid (summa.h): its q steps' products,
  // and the part of each step's transfers, posted a step ahead, not hidden behind the step
  // before's product (the first step's, whole). Forward broadcasts an input block along the row
  // and a weight block along the column; backward both again and reduces a block of each. Every
  // rank but the root receives a whole block (a reduction: sends one), so a step costs a
  // block's transfer, not an all-gather's (q - 1) / q of it.
  Work summa(double K, double out) const {
    const double q = sh.q, M = sh.N, Kl = K / q, Nl = out / q;
    const double x = M * Kl * p.activation, wb = Kl * Nl * p.activation;
    const double fwd = gemm(M, Nl, Kl), in = gemm(M, Kl, Nl), wt = gemm(Kl, Nl, M);
    const double t = broadcast_s(x, sh.q, row_link) + broadcast_s(wb, sh.q, col_link);
    // Nothing calls MPI during a product: over a link whose sends need their sender the next
    // step's broadcasts wait for the product to end.
    const double overlap =
        row_link.sends_need_sender || col_link.sends_need_sender ? 0.0 : hw.overlap;
    const auto exposed = [&](double transfer, double step) {
      return transfer + (q - 1) * std::max(0.0, transfer - overlap * step);
    };
    Work w;
    w.forward = q * fwd;
    w.input = q * in;
    w.weight = q * wt;
    w.tp_comm_forward = exposed(t, fwd);
    w.tp_comm_backward = exposed(2 * t, in + wt);
    return w;
  }
  static void add(Work& to, const Work& w) {
    to.forward += w.forward;
    to.input += w.input;
    to.weight += w.weight;
    to.tp_comm_forward += w.tp_comm_forward;
    to.tp_comm_backward += w.tp_comm_backward;
  }
  // Per-row statistics summed along the grid row (norms, cross-entropy).
  double row_sums(double elements) const {
    return all_reduce_s(elements * p.activation, sh.q, row_link);
  }

  // One transformer block.
  Work block(const model::ModelConfig& m, int micro_batch) const {
    const double N = sh.N, Cl = sh.Cl, H = sh.H, n = sh.n;
    const int B = micro_batch / sh.q;  // a grid row's samples
    Work w;
    // The attention rate counts the full T x T square. Ring attention (cp > 1) computes 2 cp + 1
    // of the (2 cp)^2 chunk pairs on each rank, the plain kernel about half the square.
    const int cp = sh.cp;
    const double att_share = cp > 1 ? ring_square_share(cp) / 0.5 : 1.0;
    const double att_rate = sh.probabilities_kept() ? hw.attention_flops(p.dtype())
                                                    : hw.flash_attention_flops(p.dtype());
    const double att_fwd =
        att_share * 4.0 * B * m.seq_len * static_cast<double>(m.seq_len) * Cl / att_rate;
    const double kept = sh.fp.hidden_saved;
    // A kernel that materializes the scores streams them: forward writes them, the softmax reads
    // and rewrites them, the product with v reads them (4 passes); backward writes the
    // probabilities' gradient, the softmax's backward reads both and writes the scores' gradient,
    // which the q and k gradients read, and v's gradient reads the probabilities (7 passes).
    // The ring (cp > 1) keeps none and makes them again in backward (4 more). A calibrated
    // profile timed such a kernel whole: its rate holds them already. Dropout on the
    // probabilities adds its passes (Shapes) in forward, in backward, and where the scores are
    // made again; no calibrated kernel holds those (Parti's attention has no dropout).
    const double scores = hw.attention_includes_scores ? 0.0 : sh.S;
    const double dropout = sh.dropout_passes * sh.S;
    const double att_scores_fwd = stream(4 * scores + dropout);
    const double redo = sh.scores_made_again() ? 4 * scores + dropout : 0.0;
    // Eager kernels: the family's extra passes (its footprint), twice that in backward.
    const double eager =
        sh.eager ? sh.fp.eager_stream * n + sh.fp.eager_split * N * (H / sh.fp.hidden) : 0.0;
    // Dropout after each sublayer, fused with the residual add: forward writes its mask,
    // backward reads the gradient and the mask and writes the gradient.
    const double drop_fwd = 2 * sh.hidden_mask * n;
    const double drop_bwd = sh.hidden_mask > 0 ? 2 * (2 + sh.hidden_mask) * n : 0.0;
    w.forward = att_fwd + att_scores_fwd + stream(10 * n + kept * N * H + eager + drop_fwd);
    // Backward's products are twice forward's (the gradients of q, k and v, and of the
    // probabilities); without the probabilities it first makes the scores again, q k^T, half of
    // forward's (FlashAttention's backward: 2.5 times its forward).
    const double att_bwd = (sh.probabilities_kept() ? 2.0 : 2.5) * att_fwd;
    w.input = att_bwd + stream(7 * scores + dropout + redo + 20 * n + 3.5 * kept * N * H +
                               8 * N * Cl + 2 * eager + drop_bwd);
    const Work products = linears();
    add(w, products);
    if (sh.q > 1) {  // two norms: mean and variance forward, two sums backward, per row
      w.tp_comm_forward += 4 * row_sums(N);
      w.tp_comm_backward += 2 * row_sums(2 * N);
    }
    if (sh.recompute == "full") {
      w.input += w.forward;
    } else if (sh.recompute == "selective") {
      w.input += att_fwd + att_scores_fwd;
    }
    if (cp > 1) {
      // The ring: cp - 1 key/value blocks (this rank's tokens, k and v of its heads) pass in
      // forward, cp - 1 blocks and cp - 1 of their gradients' partial sums plus the own one in
      // backward; each transfer overlaps the previous block's arithmetic up to the profile's
      // overlap share.
      const double block_bytes = 2 * N * Cl * p.activation;
      const double transfer = cp_link.latency_us * 1e-6 + gb(block_bytes) / cp_link.bandwidth_gbs;
      const double per_pair = att_fwd / cp;
      const double exposed = transfer - std::min(transfer, hw.overlap * per_pair);
      w.cp_comm_forward = (cp - 1) * exposed;
      w.cp_comm_backward = (2 * cp - 1) * exposed;
    }
    if (tp > 1 && sh.q == 1) {
      tp_collectives(w, products);
    }
    return w;
  }

  // The family's linear layers (model/footprint.h), this rank's part of each:
  // out = inp W: (N, in) (in, out); dinp = dout W^T: (N, out) (out, in); dW = inp^T dout.
  // On a grid, SUMMA products with their transfers.
  Work linears() const {
    Work w;
    for (const model::Footprint::Linear& f : sh.fp.layer) {
      if (sh.q > 1) {
        add(w, summa(f.in, f.out));
        continue;
      }
      const double in = f.column ? f.in : f.in / tp, out = f.column ? f.out / tp : f.out;
      w.forward += gemm(sh.N, out, in);
      w.input += gemm(sh.N, in, out);
      w.weight += gemm(in, out, sh.N);
    }
    return w;
  }

  // A block's 1D tensor-parallel collectives, into w. No sp: an all-reduce after each
  // row-parallel product (forward) and of each column-parallel input gradient (backward). sp:
  // all-gather before each sublayer, reduce-scatter after it; backward gathers the output
  // gradient and the input again. Under tp_comm_overlap (sp) each runs in chunks beside the
  // product it feeds or follows: hidden behind the block's products up to the overlap share;
  // the hidden bytes (what a rank sends of the 4 forward and 6 backward collectives of N C, 4
  // more with full recomputation) still pass through device memory.
  void tp_collectives(Work& w, const Work& products) const {
    const bool full = sh.recompute == "full";
    w.tp_comm_forward = sh.sp ? 4 * ag(sh.NC) : 2 * ar(sh.NC);
    w.tp_comm_backward = (sh.sp ? 6 * ag(sh.NC) : 2 * ar(sh.NC)) + (full ? w.tp_comm_forward : 0);
    if (!sh.tp_comm_overlap || !sh.sp) {
      return;
    }
    const double collective_bytes = (tp - 1.0) / tp * sh.NC * p.activation;
    const auto hide = [&](double& comm, double behind, double count, double& into) {
      if (comm <= 0) {
        return;
      }
      const double hidden = std::min(comm, hw.overlap * behind);
      into += hidden_traffic_s(hidden / comm * count * collective_bytes, hw);
      comm -= hidden;
    };
    hide(w.tp_comm_forward, products.forward, 4, w.forward);
    hide(w.tp_comm_backward, products.input + products.weight + (full ? products.forward : 0),
         full ? 10 : 6, w.input);
  }

  // The loss's passes over this rank's N x V logits, forward and backward, in seconds. Fused
  // (Parti's trainer, torch.compile): forward reads the logits for the row maxima and the sums
  // and writes the probabilities (3 passes), backward reads them and writes the gradient (2), in
  // the activations' type. The unfused kernels compute in fp32, a kernel a pass, after casting
  // the logits up (read them, write fp32) and before casting the gradient down (read, write).
  // PyTorch's cross_entropy under autocast: forward the log-softmax (read, write), backward the
  // loss's gradient filled (write), the log-softmax's backward (read it and the
  // log-probabilities, write): 2 a + 32 bytes an element in bf16. Megatron-LM's vocab-parallel
  // cross entropy: forward the maxima (read), subtract them (read, write), exp (read, write),
  // the sums (read), divide (read, write) to the softmax it keeps; backward scales it by the
  // loss's gradient (read, write): 2 a + 48. Against fused's 5 a, for a narrow model with a
  // large vocabulary a tenth of its step.
  std::pair<double, double> loss_passes(double logits) const {
    if (sh.loss == "fused") {
      return {stream(3 * logits), stream(2 * logits)};
    }
    const double a = p.activation, cast = a < 4 ? a + 4 : 0.0;
    const double bytes_per_s = hw.memory_bandwidth_gbs * 1e9;
    if (sh.loss == "vocab-parallel") {
      return {logits * (cast + 4 + 8 + 8 + 4 + 8) / bytes_per_s, logits * (8 + cast) / bytes_per_s};
    }
    return {logits * (cast + 8) / bytes_per_s, logits * (4 + 12 + cast) / bytes_per_s};
  }

  // The final norm, the output projection over this rank's vocabulary columns, the loss.
  Work head() const {
    const double N = sh.N, C = sh.C, V = sh.Vl;
    const auto [loss_fwd, loss_bwd] = loss_passes(N * V);
    Work w;
    w.forward = gemm(N, V, C) + loss_fwd + stream(2 * sh.n);
    w.input = gemm(N, C, V) + loss_bwd + stream(4 * sh.n);
    w.weight = gemm(C, V, N);
    if (sh.q > 1) {  // the output projection by SUMMA, the statistics along the grid row
      w = Work{};
      w.forward = loss_fwd + stream(2 * sh.n);
      w.input = loss_bwd + stream(4 * sh.n);
      add(w, summa(C, sh.vocab));
      w.tp_comm_forward += 3 * row_sums(N) + 2 * row_sums(N);
      w.tp_comm_backward += row_sums(2 * N);
      return w;
    }
    if (tp > 1) {
      w.tp_comm_forward = 3 * ar(N) + (sh.sp ? ag(sh.NC) : 0);
      w.tp_comm_backward = sh.sp ? ag(sh.NC) : ar(sh.NC);
    }
    return w;
  }

  Work embedding() const {
    Work w;
    w.forward = stream(3 * sh.NC + sh.hidden_mask * sh.n);
    w.weight = stream(3 * sh.NC + (sh.hidden_mask > 0 ? (2 + sh.hidden_mask) * sh.n : 0.0));
    if (sh.q > 1) {
      // The lookup: every token's width part reduce-scattered along the row, the rank's block
      // sent to the transposed rank; backward the block back and an all-gather along the row.
      const double all = sh.q * sh.n * p.activation;
      const double send =
          tp_link.latency_us * 1e-6 + gb(sh.n * p.activation) / tp_link.bandwidth_gbs;
      w.tp_comm_forward = all_gather_s(all, sh.q, row_link) + send;
      w.tp_comm_backward = all_gather_s(all, sh.q, row_link) + send;
      return w;
    }
    if (tp > 1) {
      w.tp_comm_forward = sh.sp ? ag(sh.NC) : ar(sh.NC);
      w.tp_comm_backward = sh.sp ? ag(sh.NC) : 0;
    }
    return w;
  }
};

}  // namespace

double all_reduce_s(double bytes, int g, const Link& link) {
  if (g <= 1) {
    return 0;
  }
  return 2.0 * (g - 1) * link.latency_us * 1e-6 +
         2.0 * (g - 1) / g * gb(bytes) / link.bandwidth_gbs;
}

double all_gather_s(double bytes, int g, const Link& link) {
  if (g <= 1) {
    return 0;
  }
  return (g - 1) * link.latency_us * 1e-6 + 1.0 * (g - 1) / g * gb(bytes) / link.bandwidth_gbs;
}

double broadcast_s(double bytes, int g, const Link& link) {
  if (g <= 1) {
    return 0;
  }
  return (g - 1) * link.latency_us * 1e-6 + gb(bytes) / link.bandwidth_gbs;
}

namespace {

// One chunk's seconds per micro-batch: forward, input gradient, weight gradient (tp collectives
// and the activation send included); tp, cp, p2p: of f and i, the collectives, ring transfers
// and pipeline sends.
struct ChunkCost {
  double f, i, w, tp, cp, p2p;
};

// The gradient elements chunk c (of k blocks) adds each micro-batch: the stage's units as the
// memory model holds them (memory.h), the embedding's on the first chunk, the head's (and a tied
// table's copy) on the last. Zero where the products accumulate: nothing to count.
double accumulated_elements(const Workload& w, const Layout& l, int c, int chunks, double k) {
  if (w.grad_accumulation_fusion) {
    return 0;
  }
  const GradientUnits u = gradient_units(w, l, c % l.pp);
  return k * u.block + (c == 0 ? u.embedding : 0.0) +
         (c == chunks - 1 ? u.head + (l.pp > 1 ? u.embedding : 0.0) : 0.0);
}

std::vector<ChunkCost> chunk_costs(const Model& model, const Workload& w, const Layout& l,
                                   const std::vector<int>& split, double p2p) {
  const Work block = model.block(w.model, l.micro_batch);
  const Work head = model.head(), embedding = model.embedding();
  const int chunks = static_cast<int>(split.size());
  std::vector<ChunkCost> cost(static_cast<size_t>(chunks));
  for (int c = 0; c < chunks; ++c) {
    const double k = split[static_cast<size_t>(c)];
    ChunkCost& z = cost[static_cast<size_t>(c)];
    z.f = k * (block.forward + block.tp_comm_forward + block.cp_comm_forward);
    z.i = k * (block.input + block.tp_comm_backward + block.cp_comm_backward);
    z.w = k * block.weight + model.accumulate(accumulated_elements(w, l, c, chunks, k));
    z.tp = k * (block.tp_comm_forward + block.tp_comm_backward);
    z.cp = k * (block.cp_comm_forward + block.cp_comm_backward);
    if (c == 0) {
      z.tp += embedding.tp_comm_forward + embedding.tp_comm_backward;
      z.f += embedding.forward + embedding.tp_comm_forward;
      z.i += embedding.tp_comm_backward;
      z.w += embedding.weight;
    }
    if (c == chunks - 1) {
      z.tp += head.tp_comm_forward + head.tp_comm_backward;
      z.f += head.forward + head.tp_comm_forward;
      z.i += head.input + head.tp_comm_backward;
      z.w += head.weight;
    } else {
      z.f += p2p;
      z.p2p += p2p;
    }
    if (c > 0) {
      z.i += p2p;
      z.p2p += p2p;
    }
  }
  return cost;
}

// Per stage, one micro-batch's forward and backward (I + W) seconds and of them the seconds on
// the wire (collectives, ring and pipeline transfers); the busiest stage's parts into t (times
// M for the step).
struct StageCosts {
  std::vector<double> f, b, wire;
};

StageCosts stage_costs(const std::vector<ChunkCost>& cost, int P, int M, StepTime& t) {
  const auto stages = static_cast<size_t>(P);
  StageCosts out{std::vector<double>(stages, 0.0), std::vector<double>(stages, 0.0),
                 std::vector<double>(stages, 0.0)};
  std::vector<double> w(stages, 0.0), tp(stages, 0.0), cp(stages, 0.0);
  for (size_t c = 0; c < cost.size(); ++c) {
    const size_t s = c % stages;
    out.f[s] += cost[c].f;
    out.b[s] += cost[c].i + cost[c].w;
    w[s] += cost[c].w;
    tp[s] += cost[c].tp;
    cp[s] += cost[c].cp;
    out.wire[s] += cost[c].tp + cost[c].cp + cost[c].p2p;
  }
  size_t busiest = 0;
  for (size_t s = 0; s < stages; ++s) {
    if (out.f[s] + out.b[s] > out.f[busiest] + out.b[busiest]) {
      busiest = s;
    }
  }
  t.forward_s = out.f[busiest];
  t.backward_s = out.b[busiest];
  t.weight_s = w[busiest];
  t.compute_s = M * (t.forward_s + t.backward_s);
  t.tp_comm_s = M * tp[busiest];
  t.cp_comm_s = M * cp[busiest];
  return out;
}

// The schedule's span (seconds) with its bubble into t: the lowered lists simulated with the
// chunks' costs (`exact`), or the bubble formulas with the busiest stage's.
double schedule_seconds(const Layout& l, int M, const std::vector<ChunkCost>& cost, bool exact,
                        bool lazy_sends, StepTime& t) {
  if (l.pp == 1) {
    return t.compute_s;
  }
  if (exact) {
    const pipeline::Schedule s = pipeline::make_schedule(l.schedule, l.pp, M, l.virtual_stages);
    const auto seconds = [&](const pipeline::Instruction& in) {
      const ChunkCost& z = cost[static_cast<size_t>(in.chunk)];
      switch (in.op) {
        case pipeline::Op::forward:
          return z.f;
        case pipeline::Op::backward:
          return z.i + z.w;
        case pipeline::Op::backward_input:
          return z.i;
        case pipeline::Op::backward_weight:
          return z.w;
        default:
          return 0.0;
      }
    };
    // Over a link whose sends need their sender, a send arrives when the sender next enters
    // MPI: a forward or input gradient with tp or cp collectives inside, not a weight gradient.
    const bool collectives = l.tp > 1 || l.cp > 1;
    const auto communicates = [&](const pipeline::Instruction& in) {
      return collectives && in.op != pipeline::Op::backward_weight;
    };
    const pipeline::Simulation sim =
        lazy_sends ? pipeline::simulate(s, seconds, communicates) : pipeline::simulate(s, seconds);
    t.bubble = sim.bubble();
    return sim.makespan;
  }
  // (P - 1) stage-slots of fill and drain, 1/V of that interleaved; zero-bubble fills them with
  // W down to F + I - W.
  const double stage = t.forward_s + t.backward_s;
  double fill = (l.pp - 1) * stage / l.virtual_stages;
  if (l.schedule == "zb" && !lazy_sends) {  // else W delays the input gradient's send
    fill = (l.pp - 1) * std::max(t.forward_s + t.backward_s - 2 * t.weight_s, stage / 3);
  }
  t.bubble = fill / (t.compute_s + fill);
  return t.compute_s + fill;
}

// When the last micro-batch's backward finishes each unit's gradients (seconds into it).
struct GradientTimes {
  GradientUnits units;
  double head = 0, block = 0, backward = 0;  // the head's and a block's backward; the whole
};

// ZeRO 0-1 without pipelining, as the trainer's GradReducer runs: the units' gradients, in the
// order backward finishes them, gather into a bucket until it holds `bucket` bytes, which then
// starts its all-reduce; what remains starts when backward ends (the embedding's, final last,
// always among it). Buckets take the link one after another; while backward computes, a collective
// advances at `overlap` of its speed (MPI moves it only inside the calls between products), then
// at full speed. Seconds of all-reduce in all, and past backward's end, into t.
void bucket_timeline(const GradientTimes& gt, double bytes_per_element, double bucket, int g,
                     const Link& link, double overlap, bool scatter, StepTime& t) {
  const double end = gt.backward;
  double pending = 0, link_free = 0;
  const auto start = [&](double ready) {
    const double work = scatter ? all_gather_s(pending, g, link) : all_reduce_s(pending, g, link);
    const double begin = std::max(ready, link_free);
    const double during = begin < end ? (end - begin) * overlap : 0.0;  // progress in backward
    link_free = overlap > 0 && during >= work ? begin + work / overlap
                                              : std::max(begin, end) + work - during;
    t.dp_comm_s += work;
    pending = 0;
  };
  const auto add = [&](double ready, double elements) {
    pending += elements * bytes_per_element;
    if (pending >= bucket) {
      start(ready);
    }
  };
  add(gt.head, gt.units.head);
  for (int k = 1; k <= gt.units.blocks; ++k) {
    add(std::min(end, gt.head + k * gt.block), gt.units.block);
  }
  add(end, gt.units.embedding);
  if (pending > 0) {
    start(end);
  }
  t.dp_exposed_s = std::max(0.0, link_free - end);
}

// Data parallelism over the busiest stage's parameters (`whole` elements of this tp rank's
// part) summed over g ranks: dp_comm_s and the part of it not hidden, into t.
// The hidden part still moves its bytes through device memory beside the compute (the
// profile's overlap_memory_accesses per byte), which the step pays at the memory bandwidth.
// Without a bf16 copy of the weights, ZeRO-1/2 gather the updated fp32 weights back.
void data_parallel_seconds(const Workload& w, const Layout& l, const Precision& p, double whole,
                           int g, int M, const Link& link, const GradientTimes& gt,
                           const Hardware& hw, StepTime& t) {
  const double overlap = w.dp_overlap ? hw.overlap : 0.0;
  const int zero = g > 1 ? l.zero : 0;
  if (g <= 1) {
    return;
  }
  const double grad_bytes = whole * p.grad;
  const double param_bytes = whole * p.param;
  double hidden_window = 0;
  // Megatron-LM's distributed optimizer reduce-scatters the gradients (a reduce-scatter costs
  // an all-gather's time).
  const bool scatter = zero == 1 && w.distributed_optimizer;
  const double bucket = w.bucket_mb * 1024 * 1024;
  if (zero <= 1 && l.pp == 1) {
    bucket_timeline(gt, p.grad, bucket, g, link, overlap, scatter, t);
  } else if (zero <= 1) {
    // With a pipeline: one all-reduce of the whole buffer after the schedule (the trainer),
    // nothing hidden; the distributed optimizer's buckets go while the stage's last micro-batch
    // runs backward.
    const double buckets = scatter ? std::max(1.0, std::ceil(grad_bytes / bucket)) : 1.0;
    t.dp_comm_s = buckets * (scatter ? all_gather_s(grad_bytes / buckets, g, link)
                                     : all_reduce_s(grad_bytes / buckets, g, link));
    t.dp_exposed_s = t.dp_comm_s - (scatter ? std::min(t.dp_comm_s, overlap * t.backward_s) : 0);
  } else {
    // A reduce-scatter of every micro-batch's gradients, overlapped with its backward, a
    // collective per unit (the embedding, each block, the head) as the trainer runs them: each
    // pays the ring's latency. The embedding by pieces (the workload's embedding_pieces; not on
    // a grid, whose ranks hold a q^2-th of it): a reduction or broadcast per piece.
    const GradientUnits& u = gt.units;
    const double embedding = w.embedding_pieces && l.grid() == 1 ? u.embedding : 0.0;
    const double others = u.count() - (embedding > 0 ? 1 : 0);
    const double largest = std::max(u.block, u.head);  // a piece: the largest other unit
    const double piece = largest > 0 ? largest : embedding / g;
    const double pieces = embedding > 0 ? g * std::ceil(embedding / g / piece) : 0.0;
    const auto per_unit = [&](double bytes_per_element) {
      const double rest = (whole - embedding) * bytes_per_element;
      return (others > 0 ? others * all_gather_s(rest / others, g, link) : 0.0) +
             (pieces > 0 ? pieces * broadcast_s(embedding * bytes_per_element / pieces, g, link)
                         : 0.0);
    };
    t.dp_comm_s = M * per_unit(p.grad);
    hidden_window = M * t.backward_s;
    if (zero == 3) {  // parameters gathered for forward and again for backward
      t.dp_comm_s += 2.0 * M * per_unit(p.param);
      hidden_window += M * t.forward_s;
    }
  }
  if (zero >= 2) {
    t.dp_exposed_s = t.dp_comm_s - std::min(t.dp_comm_s, overlap * hidden_window);
  }
  // Bytes a rank sends (and receives): a ring all-reduce 2 (g - 1) / g of the gradients, a
  // reduce-scatter or an all-gather (g - 1) / g of what it covers.
  const double share = (g - 1.0) / g;
  const double moved = zero <= 1 ? (scatter ? 1 : 2) * share * grad_bytes
                                 : M * share * (grad_bytes + (zero == 3 ? 2 * param_bytes : 0));
  if (t.dp_comm_s > 0) {
    const double hidden = 1 - t.dp_exposed_s / t.dp_comm_s;
    t.dp_exposed_s += hidden_traffic_s(hidden * moved, hw);
  }
  if (zero == 1 || zero == 2) {
    // The updated shards gathered back: after the step, or (the distributed optimizer under
    // overlap) behind the next step's first forward, its hidden bytes through device memory.
    const double back = master_only(w, p) ? p.master : p.param;
    const double gather = all_gather_s(whole * back, g, link);
    const double hidden = scatter ? std::min(gather, overlap * t.forward_s) : 0.0;
    t.dp_comm_s += gather;
    t.dp_exposed_s += gather - hidden;
    if (gather > 0) {
      t.dp_exposed_s += hidden_traffic_s(hidden / gather * share * whole * back, hw);
    }
  }
}

// A tied embedding under pipelining: after the schedule, the first and last stages swap their
// copies' gradients (DataParallel's tied exchange: this rank's part of the table, its ZeRO-2/3
// block), both directions at once on the link between them, not overlapped.
double tied_exchange_s(const Shapes& sh, const Layout& l, const Precision& p, int g,
                       const Link& link) {
  if (l.pp == 1 || !sh.fp.tied) {
    return 0;
  }
  const double width = sh.q > 1 ? sh.C / sh.q : sh.C;  // a grid rank holds a block of the table
  const double elements = sh.Vl * width / (g > 1 && l.zero >= 2 ? g : 1);
  return link.latency_us * 1e-6 + gb(elements * p.grad) / link.bandwidth_gbs;
}

// The time model on hw's links for layout l (its tp, cp and grid groups' links).
Model model_on(const Hardware& hw, const Shapes& sh, const Layout& l, const Precision& p,
               const Cluster& cluster) {
  const int q = l.grid();
  return Model{sh,
               hw,
               p,
               ring_link(1, l.tp, hw, cluster),
               ring_link(l.tp, l.cp, hw, cluster),
               l.tp,
               ring_link(1, q, hw, cluster),
               ring_link(q, q, hw, cluster)};
}

// Per stage, a rank's work per step: its compute less the links' latencies, which leave its core
// to the node's other ranks (MPI yields when a node is oversubscribed). Moving the bytes is a
// core's work: shared memory's copies, and TCP's through the kernel (and scripts/cluster's link).
std::vector<double> stage_arithmetic(const Workload& w, const Layout& l, const Hardware& hw,
                                     const Precision& p, const Cluster& cluster,
                                     const std::vector<int>& split, const StageCosts& stages) {
  Hardware waiting = hw;
  waiting.intra.bandwidth_gbs = waiting.inter.bandwidth_gbs = 1e30;
  const Shapes sh(w, l, p);
  const Link& pp_link = link_for(l.tp * l.grad_ranks(), l.pp, waiting, cluster);
  const Model model = model_on(waiting, sh, l, p, cluster);
  const std::vector<ChunkCost> waits = chunk_costs(model, w, l, split, model.p2p(l, pp_link));
  StepTime scratch;
  const int M = l.micro_batches(w.global_batch);
  const StageCosts wire = stage_costs(waits, l.pp, M, scratch);
  std::vector<double> out(stages.f.size());
  for (size_t s = 0; s < out.size(); ++s) {
    out[s] = M * (stages.f[s] + stages.b[s] - wire.wire[s]);
  }
  return out;
}

// The optimizer step over this rank's `owned` parameters: the step's scalar all-reduces over the
// whole mesh (the loss, the stop flag, the gradient norm: latency on every group's link), the
// norm's read and the clip's read and write of the gradients (elementwise), and AdamW (read p, g,
// m, v, write p, m, v in fp32).
double optimizer_seconds(const Layout& l, const Hardware& hw, const Cluster& cluster, double owned,
                         double slow, const Link& pp_link) {
  const double scalars = all_reduce_s(8, l.tp, ring_link(1, l.tp, hw, cluster)) +
                         all_reduce_s(8, l.cp * l.dp, ring_link(l.tp, l.cp * l.dp, hw, cluster)) +
                         all_reduce_s(8, l.pp, pp_link);
  return 3 * scalars +
         slow * owned * 4 * (3 / (hw.memory_bandwidth_gbs * 1e9) + 7 / (hw.optimizer_gbs * 1e9));
}

}  // namespace

StepTime step_time(const Workload& w, const Layout& l, const Hardware& hw, const Precision& p,
                   const Cluster& cluster, bool exact) {
  const Shapes sh(w, l, p);
  const int on_node = std::min(cluster.devices, cluster.devices_per_node);
  const double slow = std::max(1.0, static_cast<double>(on_node) / hw.compute_slots);
  // The gradients are summed over dp x cp (cp the faster of the two).
  const int g = l.grad_ranks();
  // A stage's ranks (tp x cp x dp in a row) cross to the next stage's node together.
  const Link pp_link =
      crossing(link_for(l.tp * g, l.pp, hw, cluster), std::min(on_node, l.tp * g), on_node);
  const Model model = model_on(hw, sh, l, p, cluster);
  const std::vector<int> split = l.pp > 1 ? chunk_layers(w, l) : std::vector<int>{w.model.layers};
  const int M = l.micro_batches(w.global_batch);
  const double p2p = model.p2p(l, pp_link);
  const std::vector<ChunkCost> cost = chunk_costs(model, w, l, split, p2p);
  StepTime t;
  const StageCosts stages = stage_costs(cost, l.pp, M, t);
  t.pp_comm_s = l.pp > 1 ? 2.0 * M * l.virtual_stages * p2p : 0.0;
  double schedule_s = schedule_seconds(l, M, cost, exact, pp_link.sends_need_sender, t);
  double whole = 0;  // the largest stage's parameter elements (this tp rank's part)
  int largest = 0;
  const std::vector<double> per_stage = stage_parameters(w, l);
  for (size_t s = 0; s < per_stage.size(); ++s) {
    if (per_stage[s] > whole) {
      whole = per_stage[s];
      largest = static_cast<int>(s);
    }
  }
  GradientTimes gt{gradient_units(w, l, largest), 0, 0, t.backward_s};
  if (l.pp == 1) {
    const Work head = model.head(), block = model.block(w.model, l.micro_batch);
    gt.head = head.input + head.weight + head.tp_comm_backward + model.accumulate(gt.units.head);
    gt.block = block.input + block.weight + block.tp_comm_backward + block.cp_comm_backward +
               model.accumulate(gt.units.block);
  }
  data_parallel_seconds(w, l, p, whole, g, M, ring_link(l.tp, g, hw, cluster), gt, hw, t);
  t.tied_s = tied_exchange_s(sh, l, p, g, pp_link);
  t.pp_comm_s += t.tied_s;
  t.optimizer_s =
      optimizer_seconds(l, hw, cluster, g > 1 && l.zero >= 1 ? whole / g : whole, slow, pp_link);
  // Ranks sharing a node's compute slots (a CPU's cores): the node cannot do more than `slots`
  // ranks' work at once, so the step takes at least the node's total arithmetic over its slots
  // (a pipeline's idle stages leave their slot to the others; tp and dp ranks all compute).
  if (slow > 1) {
    double busy = 0;  // mean over stages of a rank's arithmetic per step
    for (double a : stage_arithmetic(w, l, hw, p, cluster, split, stages)) {
      busy += a / static_cast<double>(stages.f.size());
    }
    schedule_s = std::max(schedule_s, busy * on_node / hw.compute_slots);
  }
  t.step_s = schedule_s + t.dp_exposed_s + t.tied_s + t.optimizer_s;
  const double tokens = static_cast<double>(w.global_batch) * w.model.seq_len;
  t.tokens_per_s = tokens / t.step_s;
  t.model_tflops_per_device =
      model::flops_per_token(w.model, w.model.seq_len) * t.tokens_per_s / l.ranks() / 1e12;
  t.mfu = t.model_tflops_per_device * 1e12 / hw.peak_flops(p.dtype());
  return t;
}

}  // namespace parti::plan
