#include "parti/parallel/pipeline/trace.h"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <utility>

#include "parti/core/check.h"

namespace parti::parallel::pipeline {
namespace {

// An instruction's name and category on the trace's timeline.
std::pair<std::string, std::string> label(const Instruction& what) {
  switch (what.op) {
    case Op::recv_act:
    case Op::recv_grad:
      return {"wait " + format(what), "p2p"};
    case Op::send_act:
    case Op::send_grad:
      return {format(what), "p2p"};
    case Op::reduce_grads:
      return {"REDUCE (dp all-reduce, tied wte)", "collective"};
    case Op::optimizer_step:
      return {"STEP (clip all-reduce, AdamW, ZeRO-1 all-gather)", "collective"};
    default:
      return {format(what), "compute"};
  }
}

}  // namespace

void write_trace(const std::string& path, const std::vector<TraceEvent>& mine,
                 dist::ProcessGroup* world, const std::function<std::string(int)>& track_name) {
  // Rows of (start, end, op, chunk, micro-batch, peer, step), gathered from every rank.
  constexpr size_t kRow = 7;
  std::vector<double> rows;
  for (const TraceEvent& e : mine) {
    rows.insert(rows.end(),
                {e.start, e.end, static_cast<double>(e.what.op), static_cast<double>(e.what.chunk),
                 static_cast<double>(e.what.micro_batch), static_cast<double>(e.what.peer),
                 static_cast<double>(e.step)});
  }
  const int ranks = world == nullptr ? 1 : world->size();
  const int me = world == nullptr ? 0 : world->rank();
  double longest = static_cast<double>(mine.size());
  if (world != nullptr) {
    world->all_reduce(&longest, 1, dist::ReduceOp::max);
  }
  const auto per_rank = static_cast<size_t>(longest) * kRow;
  rows.resize(per_rank, -1.0);  // padding rows: step -1
  std::vector<double> all(per_rank * static_cast<size_t>(ranks));
  if (world != nullptr) {
    world->all_gather(rows.data(), all.data(), per_rank);
  } else {
    all = rows;
  }
  if (me != 0) {
    return;
  }
  double origin = 1e300;
  for (size_t i = 0; i < all.size(); i += kRow) {
    if (all[i + 6] >= 0) {
      origin = std::min(origin, all[i]);
    }
  }
  std::ofstream out(path);
  PARTI_CHECK(out.good(), ConfigError, "--trace ", path, ": cannot write");
  out << "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  bool first = true;
  auto emit = [&](const std::string& event) {
    out << (first ? "" : ",\n") << event;
    first = false;
  };
  for (int r = 0; r < ranks; ++r) {
    emit(fmt::format(
        R"({{"name": "thread_name", "ph": "M", "pid": 0, "tid": {}, "args": {{"name": "{}"}}}})", r,
        track_name(r)));
  }
  for (int r = 0; r < ranks; ++r) {
    for (size_t i = 0; i < per_rank; i += kRow) {
      const double* row = &all[static_cast<size_t>(r) * per_rank + i];
      if (row[6] < 0) {
        continue;
      }
      const Instruction what{static_cast<Op>(row[2]), static_cast<int>(row[3]),
                             static_cast<int>(row[4]), static_cast<int>(row[5])};
      const auto [name, category] = label(what);
      emit(fmt::format(
          R"({{"name": "{}", "cat": "{}", "ph": "X", "pid": 0, "tid": {}, "ts": {:.3f}, "dur": {:.3f}, "args": {{"step": {}}}}})",
          name, category, r, (row[0] - origin) * 1e6, (row[1] - row[0]) * 1e6,
          static_cast<int64_t>(row[6])));
    }
  }
  out << "\n]}\n";
}

}  // namespace parti::parallel::pipeline
