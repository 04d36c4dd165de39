// Issue #24: what the software of a run adds to or hides from the planner's time (the loss's
// kernel, Megatron-LM's overlaps of tensor- and data-parallel communication, its buckets and
// pipeline sends), each checked against the same workload without it.
#include <gtest/gtest.h>

#include "parti/model/registry.h"
#include "parti/plan/search.h"
#include "plan/plan_fixtures.h"

namespace parti::plan {
namespace {

using test::ideal;
using test::layout;

Layout with_sp(Layout l) {
  l.sp = true;
  return l;
}

// Issue #24: Megatron-LM's vocab-parallel cross entropy casts the logits to fp32 and runs max,
// subtract, exp, sum and divide a pass each (forward a + 36 bytes an element against fused's
// 3 a), then scales the kept softmax and casts it down (12 + a against 2 a); it keeps that
// softmax in fp32 until backward, as PyTorch's autocast keeps its log-probabilities (4 bytes a
// logit against a). With tp the logits are this rank's vocabulary columns.
TEST(PlanSoftware, UnfusedLossesStreamAndKeepFp32Logits) {
  Workload w{model::preset("gpt2"), 8};
  const Hardware h = ideal();
  const Precision p = precision_of("bf16");
  const Layout l = layout(1, 2, 1, 2);
  const auto time = [&](const Workload& x) { return step_time(x, l, h, p, {2, 8}); };
  const auto act = [&](const Workload& x) {
    return peak_memory(stage_memory(x, l, p)).activations;
  };
  const double logits = 2.0 * w.model.seq_len * static_cast<double>(w.model.padded_vocab()) / 2;
  const double bw = h.memory_bandwidth_gbs * 1e9, a = p.activation;
  Workload megatron = w, autocast = w;
  megatron.loss = "vocab-parallel";
  autocast.loss = "autocast";
  EXPECT_NEAR(time(megatron).forward_s - time(w).forward_s, logits * (a + 36 - 3 * a) / bw, 1e-12);
  EXPECT_NEAR(time(megatron).backward_s - time(w).backward_s, logits * (12 + a - 2 * a) / bw,
              1e-12);
  EXPECT_NEAR(act(megatron) - act(w), logits * (4 - a), 1.0);
  EXPECT_EQ(act(autocast), act(megatron));
  EXPECT_GT(time(megatron).step_s, time(autocast).step_s);
  // In fp32 there is nothing to cast and nothing more to keep.
  const Precision fp32 = precision_of("fp32");
  EXPECT_EQ(peak_memory(stage_memory(megatron, l, fp32)).activations,
            peak_memory(stage_memory(w, l, fp32)).activations);
}

// Megatron-LM's --tp-comm-overlap: sequence parallelism's gathers and reduce-scatters hide behind
// the block's products up to the profile's overlap share. Over a link slow enough that the
// products cannot hide them all, the hidden part is that share of the products: twice as much
// at overlap 1 as at 0.5. Without sp (all-reduces) nothing changes.
TEST(PlanSoftware, TpCommOverlapHidesSequenceParallelCollectives) {
  Workload w{model::preset("gpt2"), 8};
  Hardware h = load_hardware("a100-80gb");
  h.overlap_memory_accesses = 0;
  h.intra.bandwidth_gbs = 5;  // the collectives outlast the products
  const Precision p = precision_of("bf16");
  const Layout sp = with_sp(layout(1, 8, 1, 1)), no_sp = layout(1, 8, 1, 1);
  Workload overlapped = w;
  overlapped.tp_comm_overlap = true;
  const auto hidden = [&](double share) {
    Hardware x = h;
    x.overlap = share;
    return step_time(w, sp, x, p, {8, 8}).tp_comm_s -
           step_time(overlapped, sp, x, p, {8, 8}).tp_comm_s;
  };
  ASSERT_GT(hidden(0.5), 0.0);
  EXPECT_NEAR(hidden(1.0), 2 * hidden(0.5), 1e-9);
  const StepTime before = step_time(w, sp, h, p, {8, 8});
  const StepTime after = step_time(overlapped, sp, h, p, {8, 8});
  EXPECT_NEAR(before.step_s - after.step_s, before.tp_comm_s - after.tp_comm_s, 1e-9);
  EXPECT_EQ(step_time(overlapped, no_sp, h, p, {8, 8}).step_s,
            step_time(w, no_sp, h, p, {8, 8}).step_s);
  // On a fast link the products hide it all; the bytes still pass through device memory.
  h.intra.bandwidth_gbs = 1e6;
  h.intra.latency_us = 0;
  EXPECT_LT(step_time(overlapped, sp, h, p, {8, 8}).tp_comm_s, 1e-6);  // the head's, the lookup's
  Hardware traffic = h;
  traffic.overlap_memory_accesses = 2;
  EXPECT_GT(step_time(overlapped, sp, traffic, p, {8, 8}).step_s,
            step_time(overlapped, sp, h, p, {8, 8}).step_s);
}

// Megatron-LM's distributed optimizer: ZeRO-1 with the gradients reduce-scattered (a rank sends
// (g - 1) / g of them, not twice that) and the updated bf16 weights gathered behind the next
// step's first forward; after backward (--no-dp-overlap) all of it is exposed, but still only a
// reduce-scatter.
TEST(PlanSoftware, DistributedOptimizerScattersGradientsAndHidesTheGather) {
  Workload w{model::preset("gpt2"), 64};
  Hardware h = load_hardware("a100-80gb");
  h.intra.latency_us = 0;  // bandwidth alone
  h.overlap_memory_accesses = 0;
  const Precision p = precision_of("bf16");
  Layout z1 = layout(8, 1, 1, 4);
  z1.zero = 1;
  Workload megatron = w;
  megatron.distributed_optimizer = true;
  const StepTime trainer = step_time(w, z1, h, p, {8, 8});
  const StepTime dist = step_time(megatron, z1, h, p, {8, 8});
  // Per parameter: all-reduce 2 x 4 bytes + gather 2 against reduce-scatter 4 + gather 2.
  EXPECT_NEAR(dist.dp_comm_s / trainer.dp_comm_s, 6.0 / 10.0, 1e-9);
  EXPECT_LT(dist.dp_exposed_s, trainer.dp_exposed_s);
  EXPECT_LT(dist.step_s, trainer.step_s);
  megatron.dp_overlap = false;
  const StepTime after = step_time(megatron, z1, h, p, {8, 8});
  EXPECT_NEAR(after.dp_exposed_s, after.dp_comm_s, 1e-12);
  EXPECT_NEAR(after.dp_comm_s, dist.dp_comm_s, 1e-12);
  // ZeRO-0 has no shards to scatter: the flag changes nothing.
  megatron.dp_overlap = true;
  Layout z0 = layout(8, 1, 1, 4);
  EXPECT_EQ(step_time(megatron, z0, h, p, {8, 8}).step_s, step_time(w, z0, h, p, {8, 8}).step_s);
}

// Gradient buckets (ZeRO 0-1): each bucket is a collective and pays the ring's latency. Under a
// pipeline the trainer reduces the whole buffer in one all-reduce after the schedule, whatever
// --bucket-mb says; the distributed optimizer reduce-scatters in buckets of --bucket-mb
// (Megatron-Core's --ddp-bucket-size), as the trainer does without a pipeline. ZeRO-2/3 run a
// collective per unit.
TEST(PlanSoftware, EachBucketAndUnitCollectivePaysTheRingsLatency) {
  Workload w{model::preset("gpt2"), 64};
  Hardware h = ideal();
  h.intra = {1e15, 10};  // latency alone
  const Precision p = precision_of("bf16");
  const int g = 4;
  const double lat = (g - 1) * 10e-6;  // a reduce-scatter's or an all-gather's
  const auto dp_s = [&](const Workload& x, const Layout& l) {
    return step_time(x, l, h, p, {8, 8}).dp_comm_s;
  };
  Workload small = w, whole = w;
  small.bucket_mb = 1;
  whole.bucket_mb = 1e6;
  const Layout piped = layout(g, 1, 2, 4);
  EXPECT_NEAR(dp_s(small, piped), 2 * lat, 1e-12);  // one all-reduce
  EXPECT_NEAR(dp_s(whole, piped), 2 * lat, 1e-12);
  Layout z1 = piped;
  z1.zero = 1;
  small.distributed_optimizer = whole.distributed_optimizer = true;
  EXPECT_NEAR(dp_s(whole, z1), 2 * lat, 1e-12);  // one reduce-scatter, one gather
  // A stage of GPT-2 holds tens of millions of fp32 gradients: a bucket per MiB.
  EXPECT_GT(dp_s(small, z1), 100 * lat);
  // Without a pipeline a bucket closes at the first unit that fills it; one bucket of all.
  const Layout flat = layout(g, 1, 1, 4);
  EXPECT_NEAR(dp_s(whole, flat), 2 * lat, 1e-12);
  EXPECT_GT(dp_s(small, flat), 10 * dp_s(whole, flat));
  // ZeRO-3 gathers each unit (the embedding, 12 blocks, the head) for forward and for backward
  // and reduce-scatters it, every micro-batch (64 / (4 x 4) of them): 3 x 14 latencies each,
  // as FSDP does. Parti's trainer moves the embedding in pieces of about a block: each rank's
  // quarter of its 39.4M weights in 2 pieces of at most a block's 7.1M, 8 collectives for 1.
  Layout z3 = flat;
  z3.zero = 3;
  Workload fsdp = w;
  fsdp.embedding_pieces = false;
  EXPECT_NEAR(dp_s(fsdp, z3), 4 * 3 * 14 * lat, 1e-12);
  EXPECT_NEAR(dp_s(w, z3), 4 * 3 * (13 + 8) * lat, 1e-12);
}

// GPT-2 on dp 2 x tp 4 (a node) x pp 2: the stages cross between nodes over a 10 GB/s link.
struct CrossingStages {
  Workload w{model::preset("gpt2"), 16};
  Hardware h = ideal();
  Precision p = precision_of("bf16");
  Layout l = layout(2, 4, 2, 1);
  CrossingStages() { h.inter = {10, 0}; }
  StepTime time(const Workload& x, const Layout& at) const {
    return step_time(x, at, h, p, {16, 8});
  }
  double sends(const Workload& x, const Layout& at) const {  // the tied table's swap left out
    const StepTime t = time(x, at);
    return t.pp_comm_s - t.tied_s;
  }
};

// Megatron-LM's scatter/gather of pipeline sends without sp: each of the t ranks of a stage
// sends a 1/t piece across nodes and the next stage's ranks all-gather them inside theirs. Over
// an ideal node link the sends take 1/t of the time; with sp the pieces are already split.
TEST(PlanSoftware, ScatterGatherSendsAPieceOfTheActivation) {
  const CrossingStages c;
  Workload megatron = c.w;
  megatron.pp_scatter_gather = true;
  ASSERT_GT(c.sends(c.w, c.l), 0.0);
  EXPECT_NEAR(c.sends(megatron, c.l), c.sends(c.w, c.l) / 4, 1e-9);  // the gather: ~0
  EXPECT_LT(c.time(megatron, c.l).step_s, c.time(c.w, c.l).step_s);
  const Layout sp = with_sp(c.l);
  EXPECT_EQ(c.sends(megatron, sp), c.sends(c.w, sp));
}

// DeepSpeed's pipeline engine sends and receives each on its own, blocking, in the schedule's
// order: a middle stage's slot waits for the gradient in, the activation out, the gradient out
// and the activation in, where isend or a batched send-receive overlaps each send with its
// receive. Each send's time counts twice; over an ideal link (no time on the wire) nothing
// changes.
TEST(PlanSoftware, BlockingSendsWaitForEachTransferInTurn) {
  CrossingStages c;
  Workload deepspeed = c.w;
  deepspeed.pp_blocking_sends = true;
  ASSERT_GT(c.sends(c.w, c.l), 0.0);
  EXPECT_NEAR(c.sends(deepspeed, c.l), 2 * c.sends(c.w, c.l), 1e-12);
  EXPECT_GT(c.time(deepspeed, c.l).step_s, c.time(c.w, c.l).step_s);
  c.h = ideal();
  EXPECT_NEAR(c.time(deepspeed, c.l).step_s, c.time(c.w, c.l).step_s, 1e-9);
}

// Gradient accumulation outside the products (Megatron-LM before 2022, DeepSpeed): every
// micro-batch's weight gradient is read back and added into the fp32 buffer (read and write),
// 2 + 8 bytes a weight in bf16, 4 + 8 in fp32, over the gradients this rank holds (the memory
// model's units: GPT-2's blocks on a tp 2 rank, its tied table and positions, norms and biases);
// each micro-batch's backward pays it, the forward not.
TEST(PlanSoftware, UnfusedAccumulationPassesOverTheWeightsEachMicroBatch) {
  Workload w{model::preset("gpt2"), 8};
  const Hardware h = ideal();
  const Layout l = layout(1, 2, 1, 2);  // tp 2, 4 micro-batches of 2
  Workload separate = w;
  separate.grad_accumulation_fusion = false;
  const model::ModelConfig& m = w.model;
  const double C = m.dim, V = static_cast<double>(m.padded_vocab());
  const GradientUnits u = gradient_units(w, l, 0);
  const double weights = u.blocks * u.block + u.head + u.embedding;
  // The linear layers' halves, the table's half and the positions, give or take norms and biases.
  EXPECT_NEAR(weights, m.layers * 12 * C * C / 2 + V / 2 * C + m.seq_len * C, 0.01 * weights);
  const double bw = h.memory_bandwidth_gbs * 1e9;
  for (const auto& [precision, bytes] : {std::pair{"bf16", 10.0}, std::pair{"fp32", 12.0}}) {
    const Precision p = precision_of(precision);
    const StepTime fused = step_time(w, l, h, p, {2, 8}),
                   not_fused = step_time(separate, l, h, p, {2, 8});
    EXPECT_EQ(not_fused.forward_s, fused.forward_s);
    EXPECT_NEAR(not_fused.backward_s - fused.backward_s, weights * bytes / bw, 1e-12) << precision;
    EXPECT_NEAR(not_fused.step_s - fused.step_s, 4 * weights * bytes / bw, 1e-9) << precision;
  }
  // ZeRO-2 over dp 2 reduce-scatters each micro-batch's gradients: the added shard is half.
  Layout z2 = layout(2, 2, 1, 2);
  z2.zero = 2;
  const Precision p = precision_of("bf16");
  EXPECT_NEAR(
      step_time(separate, z2, h, p, {4, 8}).backward_s - step_time(w, z2, h, p, {4, 8}).backward_s,
      weights / 2 * 10 / bw, 1e-12);
}

}  // namespace
}  // namespace parti::plan
