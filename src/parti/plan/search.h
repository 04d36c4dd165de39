// The search: every legal layout of a model on a cluster (dp x cp x tp (1D, or 2D on a square
// tp) x pp x sp x ZeRO x
// micro-batch x schedule x virtual stages x recompute), pruned by memory, ranked by predicted
// step time.
//   1. enumerate tp, pp, cp (dp the rest; cp > 1 at micro-batch 1 unless either is fixed),
//      micro-batch, schedule and V, and for each the cheapest
//      memory-saving options first (ZeRO 0..3, recompute none, selective, full): the first that
//      fits is the fastest of its kind (each saving costs time in the model), the rest are skipped
//   2. closed forms for memory and the bubble (fast: a 1T model on 4096 devices in well under a
//      second)
//   3. the best few re-evaluated exactly (the schedules' real instruction lists walked for
//      memory and simulated for time, where the lists are not huge) and ranked again
// Dimensions the user fixes (Fixed) are not searched.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "parti/plan/hardware.h"
#include "parti/plan/memory.h"
#include "parti/plan/time.h"

namespace parti::plan {

struct Fixed {
  std::optional<int> dp, cp, tp, pp, zero, micro_batch, virtual_stages;
  std::optional<bool> sp;
  std::optional<std::string> recompute, schedule;
  std::optional<std::string> tp_mode;  // 1d or 2d (2.5d is 2d with dp x depth: searched so)
};

struct Query {
  Workload workload;
  Cluster cluster;
  Hardware hardware;
  Precision precision;
  Fixed fixed;
  int top = 5;
  double memory_headroom = 0.9;  // plan to this share of device memory (fragmentation, runtime)
};

struct Candidate {
  Layout layout;
  Memory memory;  // the peak stage's
  StepTime time;
  bool exact = false;  // evaluated on the real instruction lists
};

// A layout a user might try first, and what became of it.
struct Verdict {
  std::string what;  // "pure data parallel (ZeRO-0)"
  Layout layout;
  std::string outcome;  // "ranks 12th: 1.8x the best's step time", "needs 93 GB of 80 GB", ...
};

struct PlanResult {
  std::vector<Candidate> best;    // best first
  std::vector<Verdict> verdicts;  // the natural first tries
  // Block partitioning against the 1D cut: the fastest fitting layout of each with tp > 1
  // (empty where none fits or none is legal).
  std::vector<Candidate> best_grid, best_1d_tp;
  long enumerated = 0;  // layouts looked at
  long legal = 0;       // of them, legal
  long fitting = 0;     // of them, within memory
  double seconds = 0;   // the search's own time
};

PlanResult plan(const Query& q);

// One layout, exactly (memory walk, schedule simulation).
Candidate evaluate(const Query& q, const Layout& l, bool exact = true);

}  // namespace parti::plan
