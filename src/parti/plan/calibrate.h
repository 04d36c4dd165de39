// `parti bench calibrate`: a hardware profile of this machine or cluster, measured with the
// kernels and the process groups the trainer uses. Run under mpirun with the ranks per node that
// training uses (one thread each): ranks measure at once, as in training, and rank 0's profile
// takes the slowest rank's times (the median of five trials of each).
//   GEMM       sgemm rates over shapes (m, n, k) from 64 to 2048, fitted to
//              rate = R / (1 + h/m + h/n + h/k) (least squares in log rate over h)
//   attention  the causal attention kernel, forward and backward, rated on the full-square FLOP
//              count (4 B T^2 C forward, twice that backward)
//   elementwise LayerNorm and GELU forward and backward: the bytes the time model counts for
//              them (11 accesses per element) over their time
//   optimizer  AdamW over 4M parameters: 7 fp32 accesses per parameter over its time
//   links      all-reduce from 4 KiB to 64 MiB over groups of 2, 4, ... ranks (the groups of one
//              size all at once), fitted to the ring alpha-beta model 2 (g - 1) alpha +
//              2 (g - 1) / g bytes / bandwidth: on one node consecutive ranks and the world, one
//              fit for both links; on several (ranks of a node share its host name) groups inside
//              each node fit `intra`, groups of one rank per node `inter`
//   slots      compute kernels run on one rank per core of each machine at once (simulated
//              nodes of one machine, scripts/cluster, share its cores: /proc's boot_id tells),
//              and node.compute_slots is the machine's cores over its nodes
//   overlap    a non-blocking all-reduce started before sgemm work of about its own length
//              (tested between products, as backward tests its buckets): the share of the
//              shorter of the two that disappeared from their sum
#pragma once

#include <iosfwd>

#include "parti/dist/mesh.h"
#include "parti/dist/process_group.h"
#include "parti/plan/hardware.h"

namespace parti::plan {

struct CalibrateOptions {
  std::string name = "local";
  double seconds_per_point = 0.1;  // time spent on each measurement at least (all trials)
};

// Collective over `world`; every rank returns the same profile. Progress lines go to `log` (rank
// 0's).
// `split` makes the sub-groups (dist::MpiEnv::splitter()); null: the world only.
Hardware calibrate(dist::ProcessGroup& world, const dist::Mesh::Split& split,
                   const CalibrateOptions& options, std::ostream& log);

}  // namespace parti::plan
