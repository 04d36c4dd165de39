// check: a lowered schedule is valid (see schedule.h); each problem is one line naming the stage
// and the instruction.
#include "parti/core/check.h"

#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {

namespace {

// Messages: (kind, micro-batch, sending chunk) -> how many sends and receives.
using Key = std::tuple<int, int, int>;
struct Messages {
  std::map<Key, int> sends, recvs;
};

// What has happened on one stage so far, per (micro-batch, chunk).
struct StageState {
  std::set<std::pair<int, int>> forwarded, backwarded, input_done, weight_done, got_act, got_grad;
  bool reduced = false, stepped = false;
  int backwards_left = 0;
};

using Fail = std::function<void(const Instruction&, const std::string&)>;

// A compute or transfer instruction against what its stage did before it.
void check_order(const Schedule& s, const Instruction& in, StageState& st, Messages& msg,
                 const Fail& fail) {
  const int last = s.chunks - 1;
  const std::pair<int, int> mc{in.micro_batch, in.chunk};
  switch (in.op) {
    case Op::forward:
      if (!st.forwarded.insert(mc).second) fail(in, "second forward");
      if (in.chunk > 0 && st.got_act.count(mc) == 0) fail(in, "before its input is received");
      break;
    case Op::backward:
    case Op::backward_input:
      if (st.forwarded.count(mc) == 0) fail(in, "before its forward");
      if (st.backwarded.count(mc) != 0 || st.input_done.count(mc) != 0) {
        fail(in, "second backward");
      }
      if (in.chunk < last && st.got_grad.count(mc) == 0) {
        fail(in, "before its output gradient is received");
      }
      (in.op == Op::backward ? st.backwarded : st.input_done).insert(mc);
      if (in.op == Op::backward) --st.backwards_left;
      break;
    case Op::backward_weight:
      if (st.input_done.count(mc) == 0) fail(in, "before its input gradient (I)");
      if (!st.weight_done.insert(mc).second) fail(in, "second weight gradient");
      --st.backwards_left;
      break;
    case Op::send_act:
      if (st.forwarded.count(mc) == 0) fail(in, "before the forward that makes it");
      if (in.chunk == last || in.peer != s.stage_of(in.chunk + 1)) {
        fail(in, "not to the next chunk's stage");
      }
      ++msg.sends[{0, in.micro_batch, in.chunk}];
      break;
    case Op::send_grad:
      if (st.backwarded.count(mc) == 0 && st.input_done.count(mc) == 0) {
        fail(in, "before the backward that makes it");
      }
      if (in.chunk == 0 || in.peer != s.stage_of(in.chunk - 1)) {
        fail(in, "not to the previous chunk's stage");
      }
      ++msg.sends[{1, in.micro_batch, in.chunk}];
      break;
    case Op::recv_act:
      if (in.chunk == 0 || in.peer != s.stage_of(in.chunk - 1)) {
        fail(in, "not from the previous chunk's stage");
      }
      if (!st.got_act.insert(mc).second) fail(in, "received twice");
      ++msg.recvs[{0, in.micro_batch, in.chunk - 1}];
      break;
    case Op::recv_grad:
      if (in.chunk == last || in.peer != s.stage_of(in.chunk + 1)) {
        fail(in, "not from the next chunk's stage");
      }
      if (!st.got_grad.insert(mc).second) fail(in, "received twice");
      ++msg.recvs[{1, in.micro_batch, in.chunk + 1}];
      break;
    default:
      break;
  }
}

// Stage r's list: well formed, in order, REDUCE after the last backward and STEP last.
void check_stage(const Schedule& s, int r, Messages& msg, std::vector<std::string>& errors) {
  const Fail fail = [&](const Instruction& in, const std::string& why) {
    errors.push_back(str_cat("stage ", r, ": ", format(in), ": ", why));
  };
  const std::vector<Instruction>& list = s.per_rank[static_cast<size_t>(r)];
  StageState st;
  for (const Instruction& in : list) {
    st.backwards_left += in.op == Op::forward ? 1 : 0;
  }
  for (const Instruction& in : list) {
    if (st.stepped) {
      fail(in, "after STEP");
    }
    if (in.op == Op::reduce_grads) {
      if (st.backwards_left > 0) {
        fail(in, str_cat(st.backwards_left, " backward(s) still to come"));
      }
      st.reduced = true;
    } else if (in.op == Op::optimizer_step) {
      if (!st.reduced) {
        fail(in, "STEP before REDUCE");
      }
      st.stepped = true;
    } else if (in.micro_batch < 0 || in.micro_batch >= s.micro_batches || in.chunk < 0 ||
               in.chunk >= s.chunks) {
      fail(in, str_cat("outside ", s.micro_batches, " micro-batches and ", s.chunks, " chunks"));
    } else if (s.stage_of(in.chunk) != r) {
      fail(in, str_cat("chunk ", in.chunk, " lives on stage ", s.stage_of(in.chunk)));
    } else {
      check_order(s, in, st, msg, fail);
    }
  }
  if (!st.stepped) {
    errors.push_back(str_cat("stage ", r, ": no STEP at the end"));
  }
}

// Every micro-batch-chunk forwarded and backwarded exactly once, on its stage.
void check_counts(const Schedule& s, std::vector<std::string>& errors) {
  std::map<std::pair<int, int>, std::pair<int, int>> done;  // (m, c) -> (forwards, backwards)
  for (const auto& list : s.per_rank) {
    for (const Instruction& in : list) {
      auto& [forwards, backwards] = done[{in.micro_batch, in.chunk}];
      forwards += in.op == Op::forward ? 1 : 0;
      backwards += in.op == Op::backward || in.op == Op::backward_weight ? 1 : 0;
    }
  }
  for (int c = 0; c < s.chunks; ++c) {
    for (int m = 0; m < s.micro_batches; ++m) {
      const auto it = done.find({m, c});
      const int forwards = it == done.end() ? 0 : it->second.first;
      const int backwards = it == done.end() ? 0 : it->second.second;
      if (forwards != 1 || backwards != 1) {
        errors.push_back(str_cat("micro-batch ", m, " chunk ", c, ": ", forwards,
                                 " forward(s) and ", backwards, " finished backward(s)"));
      }
    }
  }
}

// Sends matched one to one by receives.
void check_messages(const Messages& msg, std::vector<std::string>& errors) {
  auto describe = [](const Key& k) {
    return str_cat(std::get<0>(k) == 0 ? "activation" : "gradient", " of micro-batch ",
                   std::get<1>(k), " from chunk ", std::get<2>(k));
  };
  for (const auto& [key, n] : msg.sends) {
    const int got = msg.recvs.count(key) != 0 ? msg.recvs.at(key) : 0;
    if (got != n) errors.push_back(str_cat(describe(key), ": sent ", n, ", received ", got));
  }
  for (const auto& [key, n] : msg.recvs) {
    if (msg.sends.count(key) == 0) {
      errors.push_back(str_cat(describe(key), ": received, never sent"));
    }
  }
}

}  // namespace

std::vector<std::string> check(const Schedule& s) {
  if (static_cast<int>(s.per_rank.size()) != s.stages) {
    return {str_cat("a schedule of ", s.stages, " stages has ", s.per_rank.size(), " lists")};
  }
  std::vector<std::string> errors;
  Messages msg;
  for (int r = 0; r < s.stages; ++r) {
    check_stage(s, r, msg, errors);
  }
  check_counts(s, errors);
  check_messages(msg, errors);
  if (errors.empty()) {
    const Simulation sim = simulate(s);
    if (sim.deadlock) {
      errors.push_back("deadlock: " + sim.blocked);
    }
  }
  return errors;
}

}  // namespace parti::parallel::pipeline
