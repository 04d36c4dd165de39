// The planner's time model: one optimizer step of a layout on a hardware profile.
//   compute   per block and micro-batch, each matmul's FLOPs over the rate its shape reaches
//             (Hardware::gemm_flops), the causal attention core over the attention rate, and
//             the elementwise kernels' memory traffic over the memory bandwidth (a materializing
//             attention kernel's scores, eager kernels' extra passes: the workload's); backward
//             twice forward's matmuls and attention (split into I and W for zero-bubble), plus the
//             recomputed forward (full) or attention (selective); where a node has more ranks
//             than compute slots (a CPU's cores), the step takes at least the node's total
//             compute over its slots
//   cp        each rank computes its 1/cp of the tokens (matmuls, elementwise) and 2 cp + 1 of the
//             (2 cp)^2 attention chunk pairs; the ring's key/value transfers (and in backward
//             their gradients') on the cp link, each hidden behind one chunk pair's attention up
//             to the profile's overlap share
//   tp        every tensor-parallel collective of forward and backward on the critical path,
//             ring alpha-beta on the link the tp group spans (across nodes striped over the
//             node's rails, as every collective); under the workload's tp_comm_overlap (sp)
//             hidden behind the block's products up to the overlap share
//   pp        each chunk's activation send on the pp link, added to the chunk's cost; the
//             step is the simulated makespan of the schedule's instruction lists with those
//             per-chunk costs (the search's fast path: the bubble formula)
//   dp        over dp x cp ranks: the gradient all-reduce (ZeRO-0/1) in buckets, hidden behind the
//             last micro-batch's backward up to the profile's overlap share unless the workload
//             runs it after backward (pp = 1; with pp > 1 it runs after the schedule);
//             ZeRO-1/2 gather the updated parameters (the workload's distributed optimizer:
//             ZeRO-1 reduce-scatters, and gathers behind the first forward), ZeRO-2/3
//             reduce-scatter every micro-batch, ZeRO-3 gathers parameters in forward and
//             backward
//   optimizer AdamW's traffic over this rank's parameters
#pragma once

#include <string>

#include "parti/plan/hardware.h"
#include "parti/plan/memory.h"

namespace parti::plan {

struct Cluster {
  int devices = 1;           // ranks
  int devices_per_node = 1;  // ranks per node
};

struct StepTime {
  double step_s = 0;
  double compute_s = 0;  // the busiest stage's compute per step (tp collectives included)
  double bubble = 0;     // pipeline idle share (mean over stages)
  double tp_comm_s = 0, pp_comm_s = 0, dp_comm_s = 0;  // per step on one rank
  double cp_comm_s = 0;     // ring attention's transfers not hidden behind its arithmetic
  double dp_exposed_s = 0;  // of dp_comm_s, not hidden; and the hidden part's memory traffic
  double tied_s = 0;  // a tied embedding's gradient swapped between the pipeline's ends (in pp)
  double optimizer_s = 0;
  double tokens_per_s = 0;
  double model_tflops_per_device = 0;
  double mfu = 0;
  // Per stage, the mean seconds of one micro-batch's forward, backward (I + W) and W alone.
  double forward_s = 0, backward_s = 0, weight_s = 0;
};

// `exact`: simulate the schedule's lowered lists; else the bubble formula.
StepTime step_time(const Workload& w, const Layout& l, const Hardware& hw, const Precision& p,
                   const Cluster& cluster, bool exact = true);

// Ring alpha-beta time of a collective over g ranks of `bytes` (the whole buffer) on a link.
double all_reduce_s(double bytes, int g, const Link& link);
double all_gather_s(double bytes, int g, const Link& link);  // also reduce-scatter
// A broadcast (or a reduction to one rank) of `bytes`, pipelined along a chain of g ranks.
double broadcast_s(double bytes, int g, const Link& link);

}  // namespace parti::plan
