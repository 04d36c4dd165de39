// Pipeline schedules as data: per stage, the list of instructions it runs in one optimizer step.
//   Generators (pure functions of P stages, M micro-batches, V virtual stages) emit the compute
//   instructions in the order each stage runs them; lower() adds the sends and receives around
//   them and the gradient reduction and optimizer step at the end; check() proves a list valid;
//   simulate() times it with given costs (bubble, peak in-flight micro-batches) and render()
//   prints it as a stage x time grid.
//
//   gpipe        all forwards, then all backwards                         (Huang et al. 2019)
//   1f1b         P - s - 1 warm-up forwards on stage s, then one forward, one backward, ...
//                (PipeDream-Flush, Narayanan et al. 2021): at most P micro-batches in flight
//   interleaved  each stage holds V chunks (chunk c on stage c mod P); 1F1B over the M V
//                micro-batch-chunks in Megatron's order (Narayanan et al. 2021, section 2.2)
//   zb           ZB-H1 of Qi et al. 2023: 1F1B with each backward split into its input
//                gradient (I, on the critical path) and its weight gradient (W), the W's
//                deferred into the bubbles; found by simulating unit costs
//
// Bubble fraction (idle time over the step, equal stages): (P - 1) / (M + P - 1) for gpipe and
// 1f1b; (P - 1) / (V M + P - 1) for interleaved (each chunk costs 1/V of a stage).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "parti/parallel/pipeline/instruction.h"

namespace parti::parallel::pipeline {

struct Schedule {
  std::string name;
  int stages = 1;                                  // P
  int micro_batches = 1;                           // M
  int chunks = 1;                                  // P V
  std::vector<std::vector<Instruction>> per_rank;  // per stage, in execution order
  int virtual_stages() const { return chunks / stages; }
  int stage_of(int chunk) const { return chunk % stages; }
};

Schedule make_gpipe(int stages, int micro_batches);
Schedule make_1f1b(int stages, int micro_batches);
Schedule make_interleaved(int stages, int micro_batches, int virtual_stages);
Schedule make_zb_h1(int stages, int micro_batches);

// Adds the sends and receives (each receive just before the instruction that needs it, each send
// just after the one that produced it) and REDUCE, STEP at the end of every stage.
void lower(Schedule& schedule);

// The lowered schedule `name` (gpipe, 1f1b, interleaved, zb); ConfigError naming the flag when
// the combination is not possible (interleaved needs V >= 2, P >= 2 and M a multiple of P).
Schedule make_schedule(const std::string& name, int stages, int micro_batches,
                       int virtual_stages = 1);
// What make_schedule would refuse, as its message ("" when none), without building the lists.
std::string schedule_error(const std::string& name, int stages, int micro_batches,
                           int virtual_stages = 1);

// What is wrong with a lowered schedule: every micro-batch-chunk forward and backward exactly
// once on its stage, forward before backward (I before W), each send after what it sends and
// matched by exactly one receive on the right stage, each compute after the receive it needs,
// REDUCE after the last backward and STEP last, and no deadlock when receives block and sends
// do not. Empty: valid.
std::vector<std::string> check(const Schedule& schedule);

// Costs of one whole stage's layers for one micro-batch (a chunk costs 1/V of them); a full
// backward costs backward_input + backward_weight.
struct Costs {
  double forward = 1.0;
  double backward_input = 1.0;
  double backward_weight = 1.0;
};

struct Span {
  double start, end;
  Instruction what;
};

struct Simulation {
  std::vector<std::vector<Span>> spans;  // per stage, compute only
  std::vector<double> busy;              // per stage
  double makespan = 0.0;                 // when the last stage finishes
  std::vector<int> peak_in_flight;       // per stage: micro-batch-chunks forwarded, not yet
                                         // finished backward (weight gradient included)
  bool deadlock = false;
  std::string blocked;    // with deadlock: each stage's waiting instruction
  double bubble() const;  // mean over stages of idle / makespan
};

// Runs the lists as the executor would (a receive waits for its send; sends do not wait;
// communication takes no time).
Simulation simulate(const Schedule& schedule, const Costs& costs = {});
// The same with any cost per compute instruction (the planner's: each chunk its own). With
// `communicates`, a send moves only once its sender enters MPI again (a link whose large
// messages need the sender, TCP without a progress thread): at its next send or receive, the
// end of its lists, or a compute instruction for which `communicates` is true (one with tp or
// cp collectives inside).
Simulation simulate(const Schedule& schedule, const std::function<double(const Instruction&)>& cost,
                    const std::function<bool(const Instruction&)>& communicates = {});

// A stage x time grid, one cell per 1/V time unit: "F3", "B3", "I3", "W3" (with ".c" and the
// chunk when V > 1) over the cells an instruction takes, "." where the stage idles.
std::string render(const Schedule& schedule, const Simulation& simulation);

}  // namespace parti::parallel::pipeline
