// check: a lowered schedule is valid (see schedule.h); each problem is one line naming the stage
// and the instruction.
#include "parti/core/check.h"

#include <map>
#include <set>
#include <tuple>

#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {

std::vector<std::string> check(const Schedule& s) {
  std::vector<std::string> errors;
  const int P = s.stages, M = s.micro_batches, last = s.chunks - 1;
  if (static_cast<int>(s.per_rank.size()) != P) {
    return {str_cat("a schedule of ", P, " stages has ", s.per_rank.size(), " lists")};
  }
  // Messages: (kind, micro-batch, sending chunk) -> how many sends and receives.
  std::map<std::tuple<int, int, int>, int> sends, recvs;
  for (int r = 0; r < P; ++r) {
    auto fail = [&](const Instruction& in, const std::string& why) {
      errors.push_back(str_cat("stage ", r, ": ", format(in), ": ", why));
    };
    // What has happened on this stage so far, per (micro-batch, chunk).
    std::set<std::pair<int, int>> forwarded, backwarded, input_done, weight_done, got_act, got_grad;
    bool reduced = false, stepped = false;
    int backwards_left = 0;
    for (const Instruction& in : s.per_rank[static_cast<size_t>(r)]) {
      if (in.op == Op::forward) {
        ++backwards_left;
      }
    }
    for (const Instruction& in : s.per_rank[static_cast<size_t>(r)]) {
      const std::pair<int, int> mc{in.micro_batch, in.chunk};
      if (stepped) {
        fail(in, "after STEP");
      }
      if (in.op == Op::reduce_grads || in.op == Op::optimizer_step) {
        if (in.op == Op::reduce_grads) {
          if (backwards_left > 0) {
            fail(in, str_cat(backwards_left, " backward(s) still to come"));
          }
          reduced = true;
        } else {
          if (!reduced) {
            fail(in, "STEP before REDUCE");
          }
          stepped = true;
        }
        continue;
      }
      if (in.micro_batch < 0 || in.micro_batch >= M || in.chunk < 0 || in.chunk > last) {
        fail(in, str_cat("outside ", M, " micro-batches and ", last + 1, " chunks"));
        continue;
      }
      if (s.stage_of(in.chunk) != r) {
        fail(in, str_cat("chunk ", in.chunk, " lives on stage ", s.stage_of(in.chunk)));
        continue;
      }
      switch (in.op) {
        case Op::forward:
          if (!forwarded.insert(mc).second) fail(in, "second forward");
          if (in.chunk > 0 && got_act.count(mc) == 0) fail(in, "before its input is received");
          break;
        case Op::backward:
        case Op::backward_input:
          if (forwarded.count(mc) == 0) fail(in, "before its forward");
          if (backwarded.count(mc) != 0 || input_done.count(mc) != 0) fail(in, "second backward");
          if (in.chunk < last && got_grad.count(mc) == 0) {
            fail(in, "before its output gradient is received");
          }
          (in.op == Op::backward ? backwarded : input_done).insert(mc);
          if (in.op == Op::backward) --backwards_left;
          break;
        case Op::backward_weight:
          if (input_done.count(mc) == 0) fail(in, "before its input gradient (I)");
          if (!weight_done.insert(mc).second) fail(in, "second weight gradient");
          --backwards_left;
          break;
        case Op::send_act:
          if (forwarded.count(mc) == 0) fail(in, "before the forward that makes it");
          if (in.chunk == last || in.peer != s.stage_of(in.chunk + 1)) {
            fail(in, "not to the next chunk's stage");
          }
          ++sends[{0, in.micro_batch, in.chunk}];
          break;
        case Op::send_grad:
          if (backwarded.count(mc) == 0 && input_done.count(mc) == 0) {
            fail(in, "before the backward that makes it");
          }
          if (in.chunk == 0 || in.peer != s.stage_of(in.chunk - 1)) {
            fail(in, "not to the previous chunk's stage");
          }
          ++sends[{1, in.micro_batch, in.chunk}];
          break;
        case Op::recv_act:
          if (in.chunk == 0 || in.peer != s.stage_of(in.chunk - 1)) {
            fail(in, "not from the previous chunk's stage");
          }
          if (!got_act.insert(mc).second) fail(in, "received twice");
          ++recvs[{0, in.micro_batch, in.chunk - 1}];
          break;
        case Op::recv_grad:
          if (in.chunk == last || in.peer != s.stage_of(in.chunk + 1)) {
            fail(in, "not from the next chunk's stage");
          }
          if (!got_grad.insert(mc).second) fail(in, "received twice");
          ++recvs[{1, in.micro_batch, in.chunk + 1}];
          break;
        default:
          break;
      }
    }
    if (!stepped) {
      errors.push_back(str_cat("stage ", r, ": no STEP at the end"));
    }
  }
  // Every micro-batch-chunk forwarded and backwarded exactly once, on its stage.
  std::map<std::pair<int, int>, std::pair<int, int>> done;  // (m, c) -> (forwards, backwards)
  for (const auto& list : s.per_rank) {
    for (const Instruction& in : list) {
      auto& [forwards, backwards] = done[{in.micro_batch, in.chunk}];
      forwards += in.op == Op::forward ? 1 : 0;
      backwards += in.op == Op::backward || in.op == Op::backward_weight ? 1 : 0;
    }
  }
  for (int c = 0; c <= last; ++c) {
    for (int m = 0; m < M; ++m) {
      const auto it = done.find({m, c});
      const int forwards = it == done.end() ? 0 : it->second.first;
      const int backwards = it == done.end() ? 0 : it->second.second;
      if (forwards != 1 || backwards != 1) {
        errors.push_back(str_cat("micro-batch ", m, " chunk ", c, ": ", forwards,
                                 " forward(s) and ", backwards, " finished backward(s)"));
      }
    }
  }
  // Sends matched one to one by receives.
  auto describe = [](const std::tuple<int, int, int>& k) {
    return str_cat(std::get<0>(k) == 0 ? "activation" : "gradient", " of micro-batch ",
                   std::get<1>(k), " from chunk ", std::get<2>(k));
  };
  for (const auto& [key, n] : sends) {
    const int got = recvs.count(key) != 0 ? recvs.at(key) : 0;
    if (got != n) errors.push_back(str_cat(describe(key), ": sent ", n, ", received ", got));
  }
  for (const auto& [key, n] : recvs) {
    if (sends.count(key) == 0) errors.push_back(str_cat(describe(key), ": received, never sent"));
  }
  if (errors.empty()) {
    const Simulation sim = simulate(s);
    if (sim.deadlock) {
      errors.push_back("deadlock: " + sim.blocked);
    }
  }
  return errors;
}

}  // namespace parti::parallel::pipeline
