// A Chrome/Perfetto trace (JSON, ui.perfetto.dev) of pipeline instructions: one track per rank
// with each forward, backward (I, W), receive wait ("wait RA3.c1<0"), send, the gradient
// reduction and the optimizer step, as complete events ("ph": "X") in microseconds from the
// first event of any rank. Timestamps are steady-clock seconds, which ranks of one machine share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "parti/dist/process_group.h"
#include "parti/parallel/pipeline/instruction.h"

namespace parti::parallel::pipeline {

struct TraceEvent {
  double start, end;  // seconds on the steady clock
  Instruction what;
  int64_t step;  // 1-based
};

// Collective over `world` (null: this rank alone): gathers every rank's events and, on world
// rank 0, writes `path` with track r named track_name(r). ConfigError when it cannot be written.
void write_trace(const std::string& path, const std::vector<TraceEvent>& mine,
                 dist::ProcessGroup* world, const std::function<std::string(int)>& track_name);

}  // namespace parti::parallel::pipeline
