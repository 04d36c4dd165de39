// Issue #6: the planner's models checked for internal consistency (the comparison with measured
// runs is plan_memory_test for memory and bench/planner for time).
#include <gtest/gtest.h>

#include <cmath>

#include "parti/core/check.h"
#include "parti/model/registry.h"
#include "parti/parallel/pipeline/schedule.h"
#include "parti/plan/search.h"
#include "parti/train/config.h"
#include "plan/plan_fixtures.h"

namespace parti::plan {
namespace {

namespace pipeline = parallel::pipeline;

using test::ideal;
using test::layout;

TEST(PlanModel, InFlightClosedFormsEqualTheScheduleLists) {
  int checked = 0;
  for (const std::string name : {"gpipe", "1f1b", "zb", "interleaved"}) {
    for (int P : {2, 3, 4, 8}) {
      for (int V : name == "interleaved" ? std::vector<int>{2, 3} : std::vector<int>{1}) {
        for (int M = 1; M <= 24; ++M) {
          if (name == "interleaved" && M % P != 0) continue;
          const pipeline::Simulation sim =
              pipeline::simulate(pipeline::make_schedule(name, P, M, V));
          for (int s = 0; s < P; ++s) {
            EXPECT_EQ(in_flight(name, P, M, V, s), sim.peak_in_flight[static_cast<size_t>(s)])
                << name << " P " << P << " M " << M << " V " << V << " stage " << s;
            ++checked;
          }
        }
      }
    }
  }
  std::cout << checked << " (schedule, P, M, V, stage) in-flight counts checked\n";
}

TEST(PlanModel, LayoutRulesAgreeWithTheTrainers) {
  const model::ModelConfig tiny = model::preset("tiny");
  int checked = 0, legal = 0;
  for (int dp : {1, 2, 3}) {
    for (int cp : {1, 2, 3}) {
      for (int tp : {1, 2, 3, 4}) {
        for (int pp : {1, 2, 4, 8}) {
          for (int mb : {1, 2, 3}) {
            for (const std::string schedule : {"1f1b", "interleaved", "zb"}) {
              for (int V : {1, 2}) {
                for (int zero : {0, 2}) {
                  for (bool sp : {false, true}) {
                    Layout l = layout(dp, tp, pp, mb, schedule, V);
                    l.zero = zero;
                    l.sp = sp;
                    l.cp = cp;
                    train::TrainConfig cfg;
                    cfg.model = tiny;
                    cfg.data.dir = "data";
                    cfg.data.batch.global_batch = 12;
                    cfg.layout.micro_batch = mb;
                    cfg.layout.dp = dp;
                    cfg.layout.cp = cp;
                    cfg.layout.tp = tp;
                    cfg.layout.pp = pp;
                    cfg.layout.sp = sp;
                    cfg.layout.zero = zero;
                    cfg.layout.schedule = schedule;
                    cfg.layout.virtual_stages = V;
                    const bool ours = check_layout({tiny, 12}, l).empty();
                    const bool theirs = train::validate(cfg).empty();
                    EXPECT_EQ(ours, theirs)
                        << "dp " << dp << " cp " << cp << " tp " << tp << " pp " << pp << " mb "
                        << mb << " " << schedule << " V " << V << " zero " << zero << " sp " << sp;
                    ++checked;
                    legal += ours ? 1 : 0;
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  std::cout << checked << " layouts, " << legal << " legal by both\n";
  EXPECT_GT(legal, 20);
}

TEST(PlanModel, ShippedProfilesLoadAndBadOnesAreNamed) {
  for (const std::string name : {"a100-40gb", "a100-80gb", "h100-sxm", "h200"}) {
    const Hardware h = load_hardware(name);
    EXPECT_EQ(h.name, name);
    EXPECT_GT(h.peak_flops("bf16"), h.peak_flops("fp32"));
    EXPECT_EQ(h.precision, "bf16");
    EXPECT_GT(h.intra.bandwidth_gbs, h.inter.bandwidth_gbs);
  }
  try {
    load_hardware("no-such-gpu");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("h100-sxm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(hardware_from_json(nlohmann::json::parse(R"({"name": "x"})"), "x.json"),
               ConfigError);
}

TEST(PlanModel, MemoryByPrecisionAndZeroStage) {
  const Workload w{model::preset("gpt2"), 64};
  // One device, bf16 mixed precision: 2 + 4 + 4 + 8 = 18 bytes per parameter.
  const Memory one = stage_memory(w, layout(1, 1, 1, 1), precision_of("bf16"))[0];
  const double params = stage_parameters(w, layout(1, 1, 1, 1))[0];
  EXPECT_NEAR((one.params + one.grads + one.optim) / params, 18.0, 1e-9);
  // Without a bf16 copy (autocast, FSDP's mixed precision) the fp32 master is the weights: 16
  // bytes on one device; at ZeRO-3 the shard's 2 bytes less, the gathered units still in bf16.
  Workload fsdp = w;
  fsdp.weights_copy = false;
  const Memory cast = stage_memory(fsdp, layout(1, 1, 1, 1), precision_of("bf16"))[0];
  EXPECT_NEAR((cast.params + cast.grads + cast.optim) / params, 16.0, 1e-9);
  Layout z3 = layout(8, 1, 1, 1);
  z3.zero = 3;
  const Memory copy3 = stage_memory(w, z3, precision_of("bf16"))[0];
  const Memory cast3 = stage_memory(fsdp, z3, precision_of("bf16"))[0];
  const double shard = copy3.optim / 8;  // 8 bytes of moments an element of the shard
  EXPECT_NEAR(copy3.params - cast3.params, 2 * shard, 1e-6);
  EXPECT_EQ(stage_memory(fsdp, z3, precision_of("fp32"))[0].params,
            stage_memory(w, z3, precision_of("fp32"))[0].params);
  // ZeRO over 8: each stage holds less of what it shards.
  Memory last = one;
  for (int zero = 0; zero <= 3; ++zero) {
    Layout l = layout(8, 1, 1, 1);
    l.zero = zero;
    const Memory m = stage_memory(w, l, precision_of("fp32"))[0];
    EXPECT_LE(m.params + m.grads + m.optim, last.params + last.grads + last.optim) << zero;
    if (zero == 1) {
      EXPECT_NEAR(m.optim, 8 * params / 8, 8 * params * 0.01);
    }
    last = m;
  }
  // Activations: recomputation and sp only ever take less.
  Layout l = layout(1, 4, 1, 2);
  const double none = stage_memory(w, l, precision_of("fp32"))[0].activations;
  l.sp = true;
  const double sp = stage_memory(w, l, precision_of("fp32"))[0].activations;
  l.recompute = "selective";
  const double selective = stage_memory(w, l, precision_of("fp32"))[0].activations;
  l.recompute = "full";
  const double full = stage_memory(w, l, precision_of("fp32"))[0].activations;
  EXPECT_LT(sp, none);
  EXPECT_LT(selective, sp);
  EXPECT_LT(full, selective);
}

TEST(PlanModel, TimeModelIsConsistent) {
  const Workload w{model::preset("gpt2"), 64};
  const Hardware h = ideal();
  const Precision p = precision_of("bf16");
  // One device: no communication; the step is its compute plus the optimizer.
  const StepTime one = step_time(w, layout(1, 1, 1, 4), h, p, {1, 8});
  EXPECT_EQ(one.tp_comm_s + one.pp_comm_s + one.dp_comm_s, 0.0);
  EXPECT_NEAR(one.step_s, one.compute_s + one.optimizer_s, 1e-12);
  EXPECT_NEAR(one.tokens_per_s, 64.0 * 1024 / one.step_s, 1e-6);
  EXPECT_NEAR(one.mfu, one.model_tflops_per_device * 1e12 / h.peak_flops("bf16"), 1e-12);
  // Data parallelism on ideal links divides the compute.
  const StepTime dp8 = step_time(w, layout(8, 1, 1, 4), h, p, {8, 8});
  EXPECT_NEAR(dp8.compute_s, one.compute_s / 8, one.compute_s * 1e-9);
  // Recomputation costs time: none < selective < full.
  Layout l = layout(1, 1, 1, 4);
  l.recompute = "selective";
  const double selective = step_time(w, l, h, p, {1, 8}).step_s;
  l.recompute = "full";
  const double full = step_time(w, l, h, p, {1, 8}).step_s;
  EXPECT_LT(one.step_s, selective);
  EXPECT_LT(selective, full);
  // A pipeline: the simulated lists and the bubble formula agree on equal stages (1f1b), and
  // the simulated bubble equals (P - 1) / (M + P - 1) when the stages cost the same.
  Workload even{model::preset("gpt2"), 64};
  even.model.layers = 16;
  Layout pipe = layout(1, 1, 4, 4);
  pipe.pp_layers = {5, 4, 4, 3};
  const StepTime exact = step_time(even, pipe, h, p, {4, 8}, true);
  const StepTime closed = step_time(even, pipe, h, p, {4, 8}, false);
  EXPECT_NEAR(exact.step_s, closed.step_s, 0.15 * exact.step_s);
  EXPECT_GT(exact.bubble, 0.0);
  // Communication: the ring formulas.
  const Link link{100.0, 5.0};
  EXPECT_NEAR(all_reduce_s(1e9, 4, link), 2.0 * 3 / 4 * 1e9 / 100e9 + 6 * 5e-6, 1e-12);
  EXPECT_NEAR(all_gather_s(1e9, 4, link), 3.0 / 4 * 1e9 / 100e9 + 3 * 5e-6, 1e-12);
  // Slower links only ever slow the step.
  Hardware slow = h;
  slow.intra = slow.inter = {10.0, 20.0};
  slow.overlap = 0.0;
  EXPECT_GT(step_time(w, layout(8, 1, 1, 4), slow, p, {8, 8}).step_s, dp8.step_s);
}

// Issue #24: the attention kernel. One that materializes the scores streams them (4 passes
// forward, 7 backward, 4 again when selective recomputation redoes the core) and keeps the
// probabilities; a flash kernel keeps each row's log-sum-exp, and its backward makes the scores'
// product q k^T again (half of forward's products: 2.5 times forward), at the profile's rate for
// such a kernel where it has one. A calibrated profile, whose rate was timed on Parti's
// materializing kernel, charges nothing on top.
TEST(PlanModel, AttentionKernelScoresTrafficAndMemory) {
  Workload w{model::preset("gpt2"), 8};
  w.model.seq_len = 2048;
  Workload flash = w;
  flash.attention = "flash";
  const Hardware h = ideal();
  const Precision p = precision_of("bf16");
  Layout l = layout(1, 2, 1, 2);
  const StepTime materialized = step_time(w, l, h, p, {2, 8});
  const StepTime fused = step_time(flash, l, h, p, {2, 8});
  const double A = 2.0 * (12 / 2) * 2048 * 2048;  // B (NH / tp) T T scores per block
  const double pass = A * 2 / (h.memory_bandwidth_gbs * 1e9);
  const double again = 0.5 * 4.0 * 2 * 2048 * 2048 * 384 / h.attention_flops("bf16");  // q k^T
  EXPECT_NEAR(materialized.forward_s - fused.forward_s, 12 * 4 * pass, 1e-9);
  EXPECT_NEAR(materialized.backward_s - fused.backward_s, 12 * (7 * pass - again), 1e-9);
  l.recompute = "selective";
  const StepTime redo = step_time(w, l, h, p, {2, 8});
  EXPECT_GT(redo.backward_s - materialized.backward_s, 12 * 4 * pass);
  // A flash kernel already makes the scores again: selective recomputation adds nothing.
  EXPECT_NEAR(step_time(flash, l, h, p, {2, 8}).step_s, fused.step_s, 1e-12);
  Hardware calibrated = h;
  calibrated.attention_includes_scores = true;
  l.recompute = "none";
  const StepTime timed = step_time(w, l, calibrated, p, {2, 8});
  EXPECT_NEAR(timed.forward_s, fused.forward_s, 1e-12);
  EXPECT_NEAR(fused.backward_s - timed.backward_s, 12 * again, 1e-12);
  // A profile with a rate of its own for the kernel that keeps the log-sum-exp (calibrate times
  // the ring's pairs) times the flash kernel by it, and the materializing one as before; the
  // rate survives the profile's JSON.
  Hardware two_rates = calibrated;
  two_rates.flash_attention_tflops["bf16"] = 2 * calibrated.attention_tflops.at("bf16");
  two_rates = hardware_from_json(nlohmann::json::parse(to_json(two_rates).dump()), "x.json");
  const double att = 4.0 * 2 * 2048 * 2048 * 384 / h.attention_flops("bf16");  // one forward
  const StepTime halved = step_time(flash, l, two_rates, p, {2, 8});
  EXPECT_NEAR(fused.forward_s - halved.forward_s, 12 * att / 2, 1e-12);
  EXPECT_NEAR(fused.backward_s - halved.backward_s, 12 * 2.5 * att / 2, 1e-12);
  EXPECT_EQ(step_time(w, l, two_rates, p, {2, 8}).step_s, timed.step_s);
  // Memory: the probabilities (B NH/tp T T) against the log-sum-exp (B NH/tp T) per block.
  const Memory kept = peak_memory(stage_memory(w, l, p));
  const Memory lse = peak_memory(stage_memory(flash, l, p));
  EXPECT_NEAR(kept.activations - lse.activations, 12 * (A - 2.0 * 6 * 2048) * 2, 1.0);
}

// Issue #24: dropout (GPT-3-style recipes) keeps a 1-byte mask per element and streams it. On
// the materialized probabilities: its output and mask kept, 2 + 1/2 passes (bf16) each way; a
// flash kernel's dropout costs nothing. On the residual stream after the embedding and the 2
// sublayers of each block: the mask kept, written forward, read with the gradient backward.
TEST(PlanModel, DropoutKeepsAndStreamsItsMasks) {
  Workload w{model::preset("gpt2"), 8};
  w.model.seq_len = 1024;
  const Hardware h = ideal();
  const Precision p = precision_of("bf16");
  const Layout l = layout(1, 2, 1, 2);
  const double bw = h.memory_bandwidth_gbs * 1e9;
  const auto time = [&](const Workload& x) { return step_time(x, l, h, p, {2, 8}); };
  const auto act = [&](const Workload& x) {
    return peak_memory(stage_memory(x, l, p)).activations;
  };
  Workload att = w;
  att.attention_dropout = 0.1;
  const double A = 2.0 * (12 / 2) * 1024 * 1024;  // B (NH / tp) T T per block
  EXPECT_NEAR(time(att).forward_s - time(w).forward_s, 12 * 2.5 * A * 2 / bw, 1e-9);
  EXPECT_NEAR(time(att).backward_s - time(w).backward_s, 12 * 2.5 * A * 2 / bw, 1e-9);
  EXPECT_NEAR(act(att) - act(w), 12 * A * (2 + 1), 1.0);  // bf16 output, byte mask
  // A calibrated rate holds Parti's kernel's score passes, not a dropout it does not have.
  Hardware calibrated = h;
  calibrated.attention_includes_scores = true;
  EXPECT_NEAR(step_time(att, l, calibrated, p, {2, 8}).forward_s -
                  step_time(w, l, calibrated, p, {2, 8}).forward_s,
              12 * 2.5 * A * 2 / bw, 1e-9);
  Workload flash = w, flash_dropout = att;
  flash.attention = flash_dropout.attention = "flash";
  EXPECT_EQ(time(flash_dropout).step_s, time(flash).step_s);
  EXPECT_EQ(act(flash_dropout), act(flash));
  Workload hidden = w;
  hidden.hidden_dropout = 0.1;
  const double n = 2.0 * 1024 * 768, masks = 2 * 12 + 1;  // B T C (no sp); blocks' and embedding's
  EXPECT_NEAR(time(hidden).forward_s - time(w).forward_s, masks * n / bw, 1e-9);
  EXPECT_NEAR(time(hidden).backward_s - time(w).backward_s, masks * 2.5 * n * 2 / bw, 1e-9);
  EXPECT_NEAR(act(hidden) - act(w), masks * n, 1.0);
}

// Issue #24: eager kernels stream the family's extra passes (its footprint) in forward and
// twice that in backward; GPT-2's eager norm and GELU are single kernels (no change). The loss
// runs in fp32, a kernel a pass over this rank's logits: forward the up-cast and the
// log-softmax (a + 4 + 8 bytes an element against fused's 3 a), backward the gradient's fill,
// the log-softmax's backward and the down-cast (4 + 12 + 4 + a against 2 a).
TEST(PlanModel, EagerKernelsStreamTheFamilysExtraPasses) {
  Workload w{model::preset("llama-small"), 8};
  Workload eager = w;
  eager.kernels = "eager";
  eager.loss = "autocast";  // the CLI's default under --kernels eager
  const Hardware h = ideal();
  const Precision p = precision_of("bf16");
  const Layout l = layout(1, 2, 1, 2);
  const StepTime fused = step_time(w, l, h, p, {2, 8});
  const StepTime chains = step_time(eager, l, h, p, {2, 8});
  const model::Footprint fp = model::footprint(w.model);
  ASSERT_GT(fp.eager_stream, 0.0);
  const double N = 2.0 * w.model.seq_len, bw = h.memory_bandwidth_gbs * 1e9, a = p.activation;
  const auto loss = [&](const Workload& of) {
    const double logits = 2.0 * of.model.seq_len * static_cast<double>(of.model.padded_vocab()) / 2;
    return std::pair{logits * (a + 4 + 8 - 3 * a) / bw, logits * (4 + 12 + 4 + a - 2 * a) / bw};
  };
  const double pass = (fp.eager_stream * N * w.model.dim + fp.eager_split * N / 2) * 2 / bw;
  EXPECT_NEAR(chains.forward_s - fused.forward_s, w.model.layers * pass + loss(w).first, 1e-12);
  EXPECT_NEAR(chains.backward_s - fused.backward_s, 2 * w.model.layers * pass + loss(w).second,
              1e-12);
  Workload gpt{model::preset("gpt2"), 8};
  Workload gpt_eager = gpt;
  gpt_eager.kernels = "eager";
  gpt_eager.loss = "autocast";
  const StepTime g = step_time(gpt, l, h, p, {2, 8}), ge = step_time(gpt_eager, l, h, p, {2, 8});
  EXPECT_NEAR(ge.forward_s - g.forward_s, loss(gpt).first, 1e-12);
  EXPECT_NEAR(ge.backward_s - g.backward_s, loss(gpt).second, 1e-12);
}

// Issue #24: data parallelism after backward (Megatron-LM without --overlap-grad-reduce): the
// whole all-reduce is exposed; overlapped, the part backward hides is not.
TEST(PlanModel, DataParallelismAfterBackwardExposesItAll) {
  Workload w{model::preset("gpt2"), 64};
  const Hardware h = load_hardware("a100-80gb");
  const Precision p = precision_of("bf16");
  const Layout dp8 = layout(8, 1, 1, 8);
  const StepTime hidden = step_time(w, dp8, h, p, {8, 8});
  w.dp_overlap = false;
  const StepTime after = step_time(w, dp8, h, p, {8, 8});
  EXPECT_LT(hidden.dp_exposed_s, 0.5 * hidden.dp_comm_s);
  EXPECT_NEAR(after.dp_comm_s, hidden.dp_comm_s, 1e-12);
  EXPECT_NEAR(after.dp_exposed_s, after.dp_comm_s, 1e-12);
  EXPECT_NEAR(after.step_s - hidden.step_s, after.dp_exposed_s - hidden.dp_exposed_s, 1e-12);
}

// Issue #24: a collective hidden behind compute still moves its bytes through device memory
// (NCCL's kernels beside the compute: 2 accesses a byte on the shipped GPU profiles), which the
// step pays at the memory bandwidth; nothing hidden, nothing paid.
TEST(PlanModel, HiddenCollectivesTakeMemoryBandwidthFromCompute) {
  Workload w{model::preset("gpt2"), 64};
  w.embedding_pieces = false;  // the embedding's pieces move its bytes in more time (below)
  Hardware h = load_hardware("a100-80gb");
  h.intra.latency_us = 0;  // the bytes a rank moves are then dp_comm_s at the link's bandwidth
  ASSERT_EQ(h.overlap_memory_accesses, 2.0);
  Hardware none = h;
  none.overlap_memory_accesses = 0;
  const Precision p = precision_of("bf16");
  Layout z3 = layout(8, 1, 1, 4);
  z3.zero = 3;
  const StepTime a = step_time(w, z3, none, p, {8, 8}), b = step_time(w, z3, h, p, {8, 8});
  const double hidden = a.dp_comm_s - a.dp_exposed_s;
  ASSERT_GT(hidden, 0.5 * a.dp_comm_s);
  EXPECT_NEAR(b.dp_exposed_s - a.dp_exposed_s,
              hidden * h.intra.bandwidth_gbs * 2 / h.memory_bandwidth_gbs, 1e-12);
  EXPECT_NEAR(b.step_s - a.step_s, b.dp_exposed_s - a.dp_exposed_s, 1e-12);
  w.dp_overlap = false;
  EXPECT_EQ(step_time(w, z3, h, p, {8, 8}).step_s, step_time(w, z3, none, p, {8, 8}).step_s);
}

// Issue #24: a collective across nodes stripes its ring over the node's network links (rails):
// data parallelism with every rank of a node in the group (tp 1) moves 8 x a device's share on
// a DGX profile (at most the intra-node bandwidth); with tp 8 filling the node each dp group has
// one rank per node and one rail; one rail (a profile without rails) is the per-device share,
// unless ranks share it and fewer cross at once.
TEST(PlanModel, CollectivesAcrossNodesStripeOverRails) {
  const Workload w{model::preset("gpt2"), 64};
  Hardware h = load_hardware("a100-80gb");
  h.intra.latency_us = h.inter.latency_us = 0.0;  // bandwidth alone
  const Precision p = precision_of("bf16");
  ASSERT_EQ(h.inter.rails, 8);
  Hardware one_rail = h;
  one_rail.inter.rails = 1;
  const Layout dp32 = layout(32, 1, 1, 2);
  const double striped = step_time(w, dp32, h, p, {32, 8}).dp_comm_s;
  const double single = step_time(w, dp32, one_rail, p, {32, 8}).dp_comm_s;
  const double stripes = std::min(8.0, h.intra.bandwidth_gbs / h.inter.bandwidth_gbs);
  EXPECT_NEAR(single / striped, stripes, 0.05 * stripes);
  const Layout tp8 = layout(4, 8, 1, 2);
  EXPECT_NEAR(step_time(w, tp8, h, p, {32, 8}).dp_comm_s,
              step_time(w, tp8, one_rail, p, {32, 8}).dp_comm_s, 1e-12);
  // Two ranks a node on one shared link (what calibrate finds on scripts/cluster's nodes:
  // nic_ranks 2, one rail): dp 4 over both nodes crosses with one ring, which has the link to
  // itself (2 shares); dp 2 x tp 2 crosses with two rings, a share each.
  Hardware shared = one_rail;
  shared.inter.nic_ranks = 2;
  const Layout dp4 = layout(4, 1, 1, 2), dp2tp2 = layout(2, 2, 1, 2);
  EXPECT_NEAR(step_time(w, dp4, one_rail, p, {4, 2}).dp_comm_s,
              2 * step_time(w, dp4, shared, p, {4, 2}).dp_comm_s, 1e-9);
  EXPECT_NEAR(step_time(w, dp2tp2, one_rail, p, {4, 2}).dp_comm_s,
              step_time(w, dp2tp2, shared, p, {4, 2}).dp_comm_s, 1e-12);
}

// Issue #24: a tied embedding under pipelining swaps its gradient between the first and last
// stages after the schedule (the trainer's tied exchange): its transfer on the pp link is in the
// step; an untied model (Llama) and one stage have none.
TEST(PlanModel, TiedEmbeddingExchangeUnderPipelining) {
  const Workload w{model::preset("gpt2"), 16};
  Hardware h = ideal();
  h.intra = h.inter = {10.0, 20.0};
  const Precision p = precision_of("bf16");
  const Layout pipe = layout(2, 2, 2, 2);
  const StepTime t = step_time(w, pipe, h, p, {8, 8});
  const double table = 50304.0 / 2 * 768;  // this tp rank's rows of the table
  EXPECT_NEAR(t.tied_s, 20e-6 + table * 4 / 10e9, 1e-12);
  EXPECT_GE(t.pp_comm_s, t.tied_s);
  EXPECT_EQ(step_time(w, layout(2, 2, 1, 2), h, p, {4, 8}).tied_s, 0.0);
  Workload llama{model::preset("llama-small"), 16};
  EXPECT_EQ(step_time(llama, pipe, h, p, {8, 8}).tied_s, 0.0);
  Hardware slower = h;
  slower.inter = {1.0, 20.0};  // 4 devices a node: the two stages are on different nodes
  // (the activations' sends slow down too)
  const double across = step_time(w, pipe, slower, p, {8, 4}).step_s;
  EXPECT_GT(across - step_time(w, pipe, h, p, {8, 4}).step_s, table * 4 / 1e9 - table * 4 / 10e9);
}

// Issue #24: where the pp link's sends need their sender (`sends_need_sender`, calibrated), the
// input gradient a stage sends before its W arrives after that W when nothing inside W calls MPI
// (tp 1): zero bubble with one micro-batch is then no faster than 1F1B; with tp collectives in
// the next forward or input gradient, or sends that move on their own, it is.
TEST(PlanModel, SendsThatNeedTheirSenderUnderPipelining) {
  const Workload w{model::preset("gpt2"), 8};
  Hardware h = ideal();
  const Precision p = precision_of("bf16");
  const Cluster across{2, 1};  // one stage per node
  const auto step = [&](const Hardware& hw, const Layout& l) {
    return step_time(w, l, hw, p, across).step_s;
  };
  EXPECT_LT(step(h, layout(1, 1, 2, 8, "zb")), step(h, layout(1, 1, 2, 8)) - 1e-6);
  h.inter.sends_need_sender = true;
  EXPECT_NEAR(step(h, layout(1, 1, 2, 8, "zb")), step(h, layout(1, 1, 2, 8)), 1e-9);
  Hardware own = ideal();
  own.intra.sends_need_sender = true;  // inside a node: not the pp link here
  EXPECT_LT(step(own, layout(1, 1, 2, 8, "zb")), step(own, layout(1, 1, 2, 8)) - 1e-6);
}

// Issue #24: where a node's ranks share one network link (`nic_ranks`, calibrated), a transfer
// that only some of them make at once gets a larger share: pp 4 over 2 nodes of 2 ranks has one
// rank per node in the tied exchange (twice the share), tp 2 x pp 2 both (the calibrated share).
TEST(PlanModel, RanksSharingANetworkLink) {
  const Workload w{model::preset("gpt2"), 16};
  Hardware h = ideal();
  h.inter = {1.0, 20.0};
  const Precision p = precision_of("bf16");
  const Cluster two{4, 2};
  const double table = 50304.0 * 768 * 4;
  EXPECT_NEAR(step_time(w, layout(1, 1, 4, 4), h, p, two).tied_s, 20e-6 + table / 1e9, 1e-9);
  h.inter.nic_ranks = 2;
  EXPECT_NEAR(step_time(w, layout(1, 1, 4, 4), h, p, two).tied_s, 20e-6 + table / 2e9, 1e-9);
  EXPECT_NEAR(step_time(w, layout(1, 2, 2, 4), h, p, two).tied_s, 20e-6 + table / 2 / 1e9, 1e-9);
}

// Issue #24: ZeRO-0/1 gradient buckets form in backward's order (the head, the blocks, the
// embedding last, as the trainer's reducer forms them), so the embedding's all-reduce always
// runs after backward: on a slow link the exposed time is at least the table's all-reduce, on
// ideal links next to nothing; without overlap everything is exposed.
TEST(PlanModel, GradientBucketsFollowBackwardsOrder) {
  const Workload w{model::preset("gpt2"), 64};
  Hardware h = ideal();
  const Precision p = precision_of("bf16");
  EXPECT_LT(step_time(w, layout(8, 1, 1, 1), h, p, {8, 8}).dp_exposed_s, 1e-6);
  h.intra = h.inter = {50.0, 5.0};
  const StepTime t = step_time(w, layout(8, 1, 1, 1), h, p, {8, 8});
  const double table = 50304.0 * 768 + 1024.0 * 768;  // wte and wpe, the embedding's unit
  EXPECT_GE(t.dp_exposed_s, all_reduce_s(table * 4, 8, h.inter));
  EXPECT_LT(t.dp_exposed_s, t.dp_comm_s);  // the blocks' buckets hide behind backward
  h.overlap = 0.0;
  const StepTime none = step_time(w, layout(8, 1, 1, 1), h, p, {8, 8});
  EXPECT_NEAR(none.dp_exposed_s, none.dp_comm_s, 1e-12);
}

// Context parallelism in the time model: on ideal links the ring costs nothing and each rank does
// 1/cp of the token work and (2 cp + 1) / (2 cp^2) of the attention; with no overlap every ring
// transfer is on the critical path, (cp - 1) forward and (2 cp - 1) backward per block and
// micro-batch; the gradients are reduced over dp x cp.
TEST(PlanModel, ContextParallelTimeModel) {
  Workload w{model::preset("gpt2"), 8};
  w.model.seq_len = 8192;
  w.attention = "flash";  // ring attention writes no T x T scores: compare arithmetic alike
  const Hardware h = ideal();
  const Precision p = precision_of("bf16");
  const StepTime one = step_time(w, layout(1, 1, 1, 1), h, p, {1, 8});
  Layout cp4 = layout(1, 1, 1, 1);
  cp4.cp = 4;
  const StepTime ring = step_time(w, cp4, h, p, {4, 8});
  EXPECT_EQ(ring.cp_comm_s, 0.0);
  // Token work divides by 4; attention by 4 x 32 / 9: between a quarter and a third of one's.
  EXPECT_LT(ring.compute_s, one.compute_s / 3);
  EXPECT_GT(ring.compute_s, one.compute_s / 4);
  Hardware slow = h;
  slow.intra = slow.inter = {10.0, 20.0};
  slow.overlap = 0.0;
  const StepTime exposed = step_time(w, cp4, slow, p, {4, 8});
  const double block_bytes = 2.0 * 1 * 8192 / 4 * 768 * 2;  // k and v of 2048 tokens, bf16
  const double transfer = 20e-6 + block_bytes / 10e9;
  EXPECT_NEAR(exposed.cp_comm_s, 8 * 12 * (3 + 7) * transfer, 1e-9);
  EXPECT_GT(exposed.dp_comm_s, 0.0);  // cp 4 alone still sums gradients over 4 ranks
  EXPECT_NEAR(ring.model_tflops_per_device * 4,
              one.model_tflops_per_device * one.step_s / ring.step_s,
              1e-9 * one.model_tflops_per_device);
}

// Issue #21: block partitioning's time. With free links a 2 x 2 grid costs what 1D tp 4 costs
// in arithmetic, to the gemm rates of its smaller products; with slow ones its traffic (SUMMA's
// broadcasts and reductions, nothing hidden) falls below 1D's all-reduces only for a grid of
// more than 2 x 2 and a micro-batch of many times the width's tokens. Each SUMMA step's
// broadcast brings every rank but the root a whole block, one step after another: a 2 x 2 grid
// then spends 2 block transfers where it sends 1, and loses to tp 4 at 21 x the width (the
// bytes sent, tests/parallel/tensor/tp2d_bytes_test.cpp, cross at 14.8 x); a 4 x 4 grid beats
// tp 16 there. The search weighs grids against the 1D cut.
TEST(PlanModel, GridTimeModel) {
  Workload w{model::preset("gpt2"), 64};
  w.model.seq_len = 256;
  const Precision p = precision_of("bf16");
  Layout tp4 = layout(1, 4, 1, 2);
  Layout grid = tp4;
  grid.tp_mode = "2d";
  const StepTime free_1d = step_time(w, tp4, ideal(), p, {4, 8});
  const StepTime free_2d = step_time(w, grid, ideal(), p, {4, 8});
  EXPECT_NEAR(free_2d.compute_s, free_1d.compute_s, 0.25 * free_1d.compute_s);
  Hardware slow = ideal();
  slow.intra = slow.inter = {10.0, 0.0};
  slow.overlap = 0.0;
  const auto tp_comm = [&](int tp, int micro_batch, const std::string& mode) {
    Layout l = layout(1, tp, 1, micro_batch);
    l.tp_mode = mode;
    return step_time(w, l, slow, p, {tp, 16}).tp_comm_s / l.micro_batches(w.global_batch);
  };
  // 768 wide: 512 tokens (2 sequences) are 0.67 x the width, 16384 (64) are 21 x.
  EXPECT_GT(tp_comm(4, 2, "2d"), tp_comm(4, 2, "1d"));
  EXPECT_GT(tp_comm(4, 64, "2d"), tp_comm(4, 64, "1d"));
  // A 4 x 4 grid: the activation blocks fall by q = 4 against 1D's all-reduces, past the
  // weight blocks' traffic at 64 sequences.
  EXPECT_GT(tp_comm(16, 4, "2d"), tp_comm(16, 4, "1d"));
  EXPECT_LT(tp_comm(16, 64, "2d"), tp_comm(16, 64, "1d"));
  Query q;
  q.workload = w;
  q.cluster = {16, 8};
  q.hardware = load_hardware("h100-sxm");
  q.precision = p;
  const PlanResult r = plan(q);
  ASSERT_FALSE(r.best_grid.empty());
  ASSERT_FALSE(r.best_1d_tp.empty());
  EXPECT_GT(r.best_grid.front().layout.grid(), 1);
  EXPECT_EQ(r.best_1d_tp.front().layout.grid(), 1);
}

// Each SUMMA step moves a whole block (as bench/RESULTS.md's 2 x 2 grid across two nodes
// waited): a 2 x 2 grid whose rows share a node (a free link) and whose columns cross nodes
// pays, per block and micro-batch, its weight blocks over the column link q times forward
// (one broadcast a step) and 2 q times backward (a broadcast and a reduction a step), nothing
// hidden. GPT-2's block holds 12 C^2 weights, so its blocks are 3 C^2 elements a step.
TEST(PlanModel, SummaStepMovesWholeBlocks) {
  const Precision p = precision_of("bf16");
  Hardware h = ideal();
  h.intra = {1e9, 0.0};
  h.inter = {10.0, 0.0};
  h.overlap = 0.0;
  Layout grid = layout(1, 4, 1, 2);
  grid.tp_mode = "2d";
  const auto per_micro_batch = [&](int layers) {
    Workload w{model::preset("gpt2"), 8};
    w.model.seq_len = 256;
    w.model.layers = layers;
    return step_time(w, grid, h, p, {4, 2}).tp_comm_s / grid.micro_batches(w.global_batch);
  };
  const double C = 768, q = 2;
  const double block_bytes = 3 * C * C * p.activation;
  const double expected = 3 * q * block_bytes / (h.inter.bandwidth_gbs * 1e9);
  EXPECT_NEAR(per_micro_batch(3) - per_micro_batch(2), expected, 1e-3 * expected);
}

// Under ZeRO-2/3 Parti's trainer reduces the embedding's gradient to its owners in pieces (and
// under ZeRO-3 broadcasts its weights from them): every rank but a piece's owner sends the
// whole piece, where a reduce-scatter sends (g - 1) / g of it. Over links of 10 GB/s without
// latency and nothing hidden, the embedding then costs 1 / g of its bytes more a collective
// than FSDP's way (--no-embedding-pieces); the blocks' reduce-scatters do not change.
TEST(PlanModel, EmbeddingPiecesSendWholePieces) {
  const Precision p = precision_of("fp32");
  Hardware h = ideal();
  h.intra = h.inter = {10.0, 0.0};
  h.overlap = 0.0;
  Workload w{model::preset("gpt2"), 8};
  w.model.seq_len = 256;
  for (int zero : {2, 3}) {
    Layout l = layout(2, 1, 1, 2);
    l.zero = zero;
    const auto comm = [&](bool pieces) {
      Workload v = w;
      v.embedding_pieces = pieces;
      return step_time(v, l, h, p, {2, 8}).dp_comm_s;
    };
    const double embedding = gradient_units(w, l, 0).embedding;
    const double collectives = l.micro_batches(w.global_batch) * (zero == 3 ? 3 : 1);
    const double expected = collectives * embedding * 4 / 2 / (h.intra.bandwidth_gbs * 1e9);
    EXPECT_NEAR(comm(true) - comm(false), expected, 1e-6 * comm(false)) << "ZeRO-" << zero;
  }
}

// A sequence too long for any layout without cp: the planner splits it.
TEST(PlanModel, LongSequencesAreSplitByContextParallelism) {
  Query q;
  q.workload = {model::preset("gpt2-xl"), 8};
  q.workload.model.seq_len = 32768;
  q.cluster = {8, 8};
  q.hardware = load_hardware("h100-sxm");
  q.precision = precision_of("bf16");
  const PlanResult r = plan(q);
  ASSERT_FALSE(r.best.empty());
  EXPECT_GT(r.best.front().layout.cp, 1);
  q.fixed.cp = 1;
  const PlanResult without = plan(q);
  if (!without.best.empty()) {
    EXPECT_GT(without.best.front().time.step_s, r.best.front().time.step_s);
  }
}

TEST(PlanModel, SearchHonoursFixedDimensionsAndRanksByTime) {
  Query q;
  q.workload = {model::preset("gpt2"), 64};
  q.cluster = {16, 8};
  q.hardware = load_hardware("a100-40gb");
  q.precision = precision_of("bf16");
  q.top = 5;
  const PlanResult all = plan(q);
  ASSERT_FALSE(all.best.empty());
  // By step time, up to ties within 1% (ranked by their bubble).
  for (size_t i = 1; i < all.best.size(); ++i) {
    EXPECT_LE(all.best[i - 1].time.step_s, all.best[i].time.step_s * 1.01);
  }
  for (const Candidate& c : all.best) {
    EXPECT_EQ(c.layout.ranks(), 16);
    EXPECT_TRUE(check_layout(q.workload, c.layout).empty());
    EXPECT_LE(c.memory.total(), q.memory_headroom * q.hardware.memory_gb * 1073741824.0);
  }
  EXPECT_GE(all.legal, all.fitting);
  // Fix everything: that one layout.
  q.fixed.dp = 4;
  q.fixed.tp = 2;
  q.fixed.pp = 2;
  q.fixed.sp = true;
  q.fixed.zero = 1;
  q.fixed.micro_batch = 2;
  q.fixed.recompute = "selective";
  q.fixed.schedule = "zb";
  const PlanResult one = plan(q);
  ASSERT_EQ(one.best.size(), 1u);
  const Layout& l = one.best[0].layout;
  EXPECT_EQ(l.dp * 100 + l.tp * 10 + l.pp, 422);
  EXPECT_TRUE(l.sp);
  EXPECT_EQ(l.schedule, "zb");
  EXPECT_EQ(l.recompute, "selective");
  EXPECT_GE(one.best[0].time.step_s, all.best[0].time.step_s);
}

TEST(PlanModel, LargeModelsOnThousandsOfDevices) {
  // Korthikanti et al. 2022's 1T model on 4096 A100s: something fits, at a plausible MFU.
  Query q;
  q.workload.model = {128, 160, 25600, 2048, 51200};
  q.workload.global_batch = 4096;
  q.cluster = {4096, 8};
  q.hardware = load_hardware("a100-80gb");
  q.precision = precision_of("bf16");
  q.top = 3;
  const PlanResult r = plan(q);
  ASSERT_FALSE(r.best.empty());
  const Candidate& best = r.best[0];
  std::cout << "1T on 4096 A100: " << r.enumerated << " layouts, best dp " << best.layout.dp
            << " tp " << best.layout.tp << " pp " << best.layout.pp << ", MFU " << best.time.mfu
            << "\n";
  EXPECT_GT(best.time.mfu, 0.3);
  EXPECT_LT(best.time.mfu, 0.8);
  EXPECT_GT(best.layout.tp * best.layout.pp, 8) << "a 1T model needs model parallelism";
}

}  // namespace
}  // namespace parti::plan
