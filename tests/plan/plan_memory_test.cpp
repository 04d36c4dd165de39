// Issue #6, acceptance 1 (and #17 for Llama): the planner's memory model against the trainer.
// Each layout of `tiny`, `small` or `llama-tiny` (1-8 ranks; dp, cp, tp, sp, pp, every ZeRO stage
// and recomputation mode) trains two steps; the JSONL's per-rank bytes (rank 0: dp, tp and pp rank
// 0, i.e. pipeline stage 0) of parameters, gradients, optimizer state and activations must each be
// within 10% of plan::stage_memory's stage 0 (fp32, the lists walked).
#include <cmath>
#include <iostream>

#include "parti/plan/memory.h"
#include "support/layout_runs.h"

namespace parti {
namespace {

using test::work;

struct Case {
  std::string name;
  std::string model;  // tiny | small | llama-tiny
  plan::Layout layout;
  int global_batch;
};

plan::Layout with_cp(plan::Layout l, int cp) {
  l.cp = cp;
  return l;
}

plan::Layout with_grid(plan::Layout l) {
  l.tp_mode = "2d";
  return l;
}

std::string flags_of(const Case& c) {
  const plan::Layout& l = c.layout;
  std::string f = " train --data " + work() + "/brown --model " + c.model + " --global-batch " +
                  std::to_string(c.global_batch) + " --micro-batch " +
                  std::to_string(l.micro_batch) + " --steps 2 --eval-batches 0 --threads 1 --log " +
                  work() + "/" + c.name + ".jsonl --dp " + std::to_string(l.dp) + " --cp " +
                  std::to_string(l.cp) + " --tp " + std::to_string(l.tp) + " --pp " +
                  std::to_string(l.pp) + " --zero " + std::to_string(l.zero) + " --recompute " +
                  l.recompute;
  if (l.sp) f += " --sp";
  f += " --tp-mode " + l.tp_mode;
  if (l.pp > 1) {
    f += " --schedule " + l.schedule + " --virtual-stages " + std::to_string(l.virtual_stages);
  }
  return f;
}

plan::Layout layout(int dp, int tp, int pp, bool sp, int zero, int mb, std::string recompute,
                    std::string schedule = "1f1b", int V = 1) {
  return {.dp = dp,
          .tp = tp,
          .pp = pp,
          .cp = 1,
          .sp = sp,
          .zero = zero,
          .micro_batch = mb,
          .virtual_stages = V,
          .schedule = std::move(schedule),
          .recompute = std::move(recompute),
          .pp_layers = {}};
}

TEST(PlanMemory, PredictedBytesWithinTenPercentOfTheTrainers) {
  const std::vector<Case> cases = {
      {"one_none", "tiny", layout(1, 1, 1, false, 0, 4, "none"), 8},
      {"one_selective", "tiny", layout(1, 1, 1, false, 0, 4, "selective"), 8},
      {"one_full", "tiny", layout(1, 1, 1, false, 0, 4, "full"), 8},
      {"dp2_zero1", "tiny", layout(2, 1, 1, false, 1, 2, "none"), 8},
      {"dp2_zero2", "tiny", layout(2, 1, 1, false, 2, 2, "selective"), 8},
      {"dp4_zero3", "tiny", layout(4, 1, 1, false, 3, 2, "none"), 8},
      {"tp2", "tiny", layout(1, 2, 1, false, 0, 4, "none"), 8},
      {"tp4_sp", "tiny", layout(1, 4, 1, true, 0, 4, "selective"), 8},
      {"dp2_tp2_sp_zero3", "tiny", layout(2, 2, 1, true, 3, 2, "full"), 8},
      {"pp2_1f1b", "tiny", layout(1, 1, 2, false, 0, 2, "none"), 8},
      {"pp2_gpipe_full", "tiny", layout(1, 1, 2, false, 0, 2, "full", "gpipe"), 8},
      {"pp4_zb", "tiny", layout(1, 1, 4, false, 0, 1, "none", "zb"), 8},
      {"pp2_interleaved", "tiny", layout(1, 1, 2, false, 0, 1, "selective", "interleaved", 2), 8},
      {"dp2_tp2_sp_pp2", "tiny", layout(2, 2, 2, true, 1, 1, "none"), 8},
      {"dp2_pp2_zero2", "tiny", layout(2, 1, 2, false, 2, 1, "none"), 8},
      {"dp2_pp2_zero3_zb", "tiny", layout(2, 1, 2, false, 3, 1, "selective", "zb"), 8},
      {"small_dp2_zero1", "small", layout(2, 1, 1, false, 1, 2, "none"), 4},
      {"small_tp2_sp_pp2", "small", layout(1, 2, 2, true, 0, 1, "selective", "zb"), 4},
      // Context parallelism (issue #8): tokens split by cp, the gradients sharded over dp x cp.
      {"cp2", "tiny", with_cp(layout(1, 1, 1, false, 0, 4, "none"), 2), 8},
      {"cp4_full", "tiny", with_cp(layout(1, 1, 1, false, 0, 4, "full"), 4), 8},
      {"dp2_cp2_zero2", "tiny", with_cp(layout(2, 1, 1, false, 2, 2, "selective"), 2), 8},
      {"cp2_tp2_sp_zero1", "tiny", with_cp(layout(1, 2, 1, true, 1, 4, "none"), 2), 8},
      {"cp2_pp2", "tiny", with_cp(layout(1, 1, 2, false, 0, 2, "none"), 2), 8},
      // The Llama family (issue #17): grouped-query attention, SwiGLU, RMSNorm, untied head.
      {"llama_one_none", "llama-tiny", layout(1, 1, 1, false, 0, 4, "none"), 8},
      {"llama_one_full", "llama-tiny", layout(1, 1, 1, false, 0, 4, "full"), 8},
      {"llama_dp2_zero1", "llama-tiny", layout(2, 1, 1, false, 1, 2, "selective"), 8},
      {"llama_dp4_zero3", "llama-tiny", layout(4, 1, 1, false, 3, 2, "none"), 8},
      {"llama_tp2_sp", "llama-tiny", layout(1, 2, 1, true, 0, 4, "selective"), 8},
      {"llama_dp2_tp2_zero2", "llama-tiny", layout(2, 2, 1, false, 2, 2, "none"), 8},
      {"llama_pp2_1f1b", "llama-tiny", layout(1, 1, 2, false, 0, 2, "none"), 8},
      {"llama_dp2_pp2_zero3_zb", "llama-tiny", layout(2, 1, 2, false, 3, 1, "none", "zb"), 8},
      {"llama_cp2", "llama-tiny", with_cp(layout(1, 1, 1, false, 0, 4, "none"), 2), 8},
      // Block partitioning (issue #21): a 2 x 2 grid, alone and with dp and ZeRO-3.
      {"grid2x2", "tiny", with_grid(layout(1, 4, 1, false, 0, 4, "none")), 8},
      {"dp2_grid2x2_zero3", "tiny", with_grid(layout(2, 4, 1, false, 3, 2, "selective")), 8},
      {"llama_grid2x2", "llama-tiny", with_grid(layout(1, 4, 1, false, 0, 4, "none")), 8},
  };
  int within = 0;
  for (const Case& c : cases) {
    const int ranks = c.layout.ranks();
    auto r = test::run(test::mpirun(ranks) + flags_of(c));
    ASSERT_EQ(r.status, 0) << c.name << "\n" << r.output;
    const nlohmann::json rec = test::first_record(work() + "/" + c.name + ".jsonl");
    plan::Workload w{model::preset(c.model), c.global_batch};
    const plan::Memory m =
        plan::stage_memory(w, c.layout, plan::precision_of("fp32"), true).front();
    const std::pair<const char*, double> kinds[] = {{"mem_params", m.params},
                                                    {"mem_grads", m.grads},
                                                    {"mem_optim", m.optim},
                                                    {"mem_activations", m.activations}};
    bool all = true;
    std::cout << c.name << ":";
    for (const auto& [key, predicted] : kinds) {
      const double measured = rec.at(key).get<double>();
      const double error = (predicted - measured) / measured;
      std::cout << " " << key << " " << measured << " predicted " << predicted << " ("
                << std::showpos << 100 * error << std::noshowpos << "%)";
      EXPECT_LE(std::abs(error), 0.10) << c.name << " " << key;
      all = all && std::abs(error) <= 0.10;
    }
    std::cout << "\n";
    within += all ? 1 : 0;
  }
  std::cout << within << " of " << cases.size() << " layouts within 10% in every kind\n";
}

}  // namespace
}  // namespace parti
