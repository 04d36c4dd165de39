// Issue #5, acceptance 1 and 2: every generated schedule passes the checker (pp 1..8,
// micro-batches 1..16, virtual stages 2..4 where interleaving is possible), hand-broken lists do
// not, the peak in-flight micro-batches are GPipe's M and 1F1B's min(P - s, M), and the simulated
// bubble fraction (unit costs: F = I = W = 1, so B = 2) is (P - 1) / (M + P - 1) for GPipe and
// 1F1B, and (P - 1) / (V M + P - 1) for interleaved (each chunk 1/V of a stage). The text form
// of every instruction round-trips.
#include "parti/parallel/pipeline/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "parti/core/check.h"

namespace parti::parallel::pipeline {
namespace {

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const std::string& e : errors) out += e + "\n";
  return out;
}

TEST(Schedule, EveryGeneratedScheduleIsValid) {
  int checked = 0;
  for (int P = 1; P <= 8; ++P) {
    for (int M = 1; M <= 16; ++M) {
      for (const char* name : {"gpipe", "1f1b", "zb"}) {
        const Schedule s = make_schedule(name, P, M);
        ASSERT_EQ(check(s), std::vector<std::string>{}) << name << " P " << P << " M " << M << "\n"
                                                        << joined(check(s));
        for (const auto& list : s.per_rank) {
          for (const Instruction& in : list) ASSERT_EQ(parse_instruction(format(in)), in);
        }
        ++checked;
      }
      for (int V = 2; V <= 4; ++V) {
        if (P < 2 || M % P != 0) {
          EXPECT_THROW(make_schedule("interleaved", P, M, V), ConfigError);
          continue;
        }
        const Schedule s = make_schedule("interleaved", P, M, V);
        ASSERT_EQ(check(s), std::vector<std::string>{})
            << "interleaved P " << P << " M " << M << " V " << V << "\n"
            << joined(check(s));
        ++checked;
      }
    }
  }
  std::cout << checked << " schedules checked\n";
}

bool mentions(const std::vector<std::string>& errors, const std::string& needle) {
  return std::any_of(errors.begin(), errors.end(),
                     [&](const std::string& e) { return e.find(needle) != std::string::npos; });
}

TEST(Schedule, BrokenListsAreRejected) {
  // A dropped send: its receive waits forever.
  Schedule s = make_schedule("1f1b", 4, 8);
  auto& stage1 = s.per_rank[1];
  auto send = std::find(stage1.begin(), stage1.end(), parse_instruction("SA2.c1>2"));
  ASSERT_NE(send, stage1.end());
  stage1.erase(send);
  auto errors = check(s);
  EXPECT_TRUE(mentions(errors, "activation of micro-batch 2 from chunk 1: received, never sent"))
      << joined(errors);
  // A swapped pair: the send before the forward that makes it.
  s = make_schedule("1f1b", 4, 8);
  auto& stage0 = s.per_rank[0];
  auto forward = std::find(stage0.begin(), stage0.end(), parse_instruction("F3.c0"));
  ASSERT_NE(forward, stage0.end());
  std::iter_swap(forward, forward + 1);
  errors = check(s);
  EXPECT_TRUE(mentions(errors, "stage 0: SA3.c0>1: before the forward that makes it"))
      << joined(errors);
  // A receive moved before a send its peer needs first: every instruction is well formed, but
  // stage 0 waits for micro-batch 0's gradient before sending its activation.
  s = make_schedule("gpipe", 2, 2);
  auto& first = s.per_rank[0];
  auto act = std::find(first.begin(), first.end(), parse_instruction("SA0.c0>1"));
  auto grad = std::find(first.begin(), first.end(), parse_instruction("RG0.c0<1"));
  ASSERT_TRUE(act != first.end() && grad != first.end());
  const Instruction moved = *grad;
  first.erase(grad);
  first.insert(std::find(first.begin(), first.end(), parse_instruction("SA0.c0>1")), moved);
  errors = check(s);
  EXPECT_TRUE(mentions(errors, "deadlock: stage 0 waits in RG0.c0<1, stage 1 waits in RA0.c1<0"))
      << joined(errors);
  // A micro-batch forwarded twice, one never.
  s = make_schedule("gpipe", 1, 3);
  s.per_rank[0][1] = parse_instruction("F0.c0");
  errors = check(s);
  EXPECT_TRUE(mentions(errors, "stage 0: F0.c0: second forward")) << joined(errors);
  EXPECT_TRUE(mentions(errors, "micro-batch 1 chunk 0: 0 forward(s)")) << joined(errors);
  EXPECT_THROW(parse_instruction("X3.c0"), ConfigError);
  EXPECT_THROW(make_schedule("interleaved", 4, 6, 2), ConfigError);
  EXPECT_THROW(make_schedule("1f1b", 4, 8, 2), ConfigError);
}

TEST(Schedule, PeakInFlightAndBubbleMatchTheFormulas) {
  for (int P = 1; P <= 8; ++P) {
    for (int M = 1; M <= 16; ++M) {
      const double expected = static_cast<double>(P - 1) / (M + P - 1);
      for (const char* name : {"gpipe", "1f1b"}) {
        const Simulation sim = simulate(make_schedule(name, P, M));
        EXPECT_NEAR(sim.bubble(), expected, 1e-12) << name << " P " << P << " M " << M;
        for (int r = 0; r < P; ++r) {
          const int peak = std::string(name) == "gpipe" ? M : std::min(P - r, M);
          EXPECT_EQ(sim.peak_in_flight[static_cast<size_t>(r)], peak)
              << name << " P " << P << " M " << M << " stage " << r;
        }
      }
      // Zero bubble: 1F1B's memory, a bubble no larger (smaller once there is one to fill).
      const Simulation zb = simulate(make_schedule("zb", P, M));
      for (int r = 0; r < P; ++r) {
        EXPECT_LE(zb.peak_in_flight[static_cast<size_t>(r)], std::min(P - r, M));
      }
      EXPECT_LE(zb.bubble(), expected + 1e-12) << "zb P " << P << " M " << M;
      if (P > 1 && M >= P) {
        EXPECT_LT(zb.bubble(), expected) << "zb P " << P << " M " << M;
      }
      for (int V = 2; V <= 4 && P > 1 && M % P == 0; ++V) {
        const Simulation sim = simulate(make_schedule("interleaved", P, M, V));
        EXPECT_NEAR(sim.bubble(), static_cast<double>(P - 1) / (V * M + P - 1), 1e-12)
            << "interleaved P " << P << " M " << M << " V " << V;
      }
    }
  }
}

// Issue #24: over a link whose sends need their sender (TCP without a progress thread), a send
// arrives only when its sender next enters MPI. Zero bubble on 2 stages with one micro-batch,
// unit costs: stage 1 sends its input gradient and then computes W; if W has no collective
// inside, stage 0's I starts after that W (1F1B's 6 units instead of 5); if it communicates, or
// sends move on their own, at once.
TEST(Simulate, SendsThatNeedTheirSenderArriveWhenItCommunicates) {
  const Schedule zb = make_schedule("zb", 2, 1);
  const auto unit = [](const Instruction& in) {  // B = I + W
    return in.op == Op::backward ? 2.0 : is_compute(in.op) ? 1.0 : 0.0;
  };
  EXPECT_DOUBLE_EQ(simulate(zb, unit).makespan, 5.0);
  EXPECT_DOUBLE_EQ(simulate(zb, unit, [](const Instruction&) { return false; }).makespan, 6.0);
  EXPECT_DOUBLE_EQ(simulate(zb, unit, [](const Instruction&) { return true; }).makespan, 5.0);
  EXPECT_DOUBLE_EQ(simulate(make_schedule("1f1b", 2, 1), unit).makespan, 6.0);
  // 1F1B with 4 micro-batches: stage 0 posts the first activation and computes the second
  // forward before it next receives; without collectives the first arrives a forward late.
  const Schedule one = make_schedule("1f1b", 2, 4);
  const Simulation eager = simulate(one, unit);
  const Simulation lazy = simulate(one, unit, [](const Instruction&) { return false; });
  EXPECT_FALSE(lazy.deadlock);
  EXPECT_GT(lazy.makespan, eager.makespan);
}

}  // namespace
}  // namespace parti::parallel::pipeline
