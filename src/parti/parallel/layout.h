// The layout (issue #16): how one training run is spread over the mesh, in one struct with one
// validate() that `parti train` and `parti plan` both call, so the trainer and the planner accept
// the same layouts and print the same words.
//
//   world = pp x dp x cp x tp ranks (dist/mesh.h: tp fastest, then cp, dp, pp)
//   global batch = micro_batch x dp x micro-batches per step (the accumulation)
//   gradients summed (and ZeRO's shards cut) over dp x cp
#pragma once

#include <string>
#include <vector>

#include "parti/model/config.h"
#include "parti/model/module.h"

namespace parti::parallel {

struct Layout {
  int dp = 1, tp = 1, pp = 1;
  int cp = 1;       // context parallelism: each rank holds 1/cp of every sequence's tokens
  bool sp = false;  // sequence parallelism over the tp group
  // How tensor parallelism cuts a weight: "1d" (Megatron: by rows or columns over tp), "2d"
  // (block partitioning, issue #21: tp = q^2 ranks as a q x q grid, SUMMA products).
  // "2.5d" (Tesseract): tp = tp_depth q^2, tp_depth stacked q x q grids.
  std::string tp_mode = "1d";
  int tp_depth = 1;
  int zero = 0;                     // ZeRO level 0-3 over dp x cp
  int micro_batch = 1;              // sequences per forward/backward on a rank
  int virtual_stages = 1;           // chunks per pipeline stage (interleaved)
  std::string schedule = "1f1b";    // gpipe, 1f1b, interleaved, zb (pp > 1)
  std::string recompute = "none";   // none, selective, full
  std::vector<int> pp_layers = {};  // blocks per chunk (empty: balanced by estimated compute)
  // How the data-parallel reduction runs (parallel/data/).
  double bucket_mb = 25.0;  // gradient all-reduce bucket size (MB), overlapped with backward
  std::string grad_compress = "none";  // none, bf16, powersgd (parallel/data/compress.h)
  int powersgd_rank = 4;
  int powersgd_start_step = 0;  // plain reductions for optimizer steps before this one

  int ranks() const { return dp * cp * tp * pp; }
  // The grid's side q under block partitioning (1: none).
  int grid() const;
  // 2.5D as the 2D layout it runs as: Tesseract's d grids hold the same weight blocks, take the
  // micro-batch's samples in d parts and sum their gradients, which is data parallelism over d
  // neighbouring grids: tp q^2, dp x d, micro-batch / d (the global batch and every sample's
  // place unchanged). Any other layout: itself.
  Layout grid_equivalent() const;
  // How many parts a layer's output features (heads, hidden units) are cut into.
  int feature_parts() const { return grid() > 1 ? grid() : tp; }
  int grad_ranks() const { return dp * cp; }
  // Micro-batches per rank per step for a global batch of `global_batch` sequences.
  int micro_batches(int global_batch) const { return global_batch / (dp * micro_batch); }
  model::Recompute recompute_mode() const;
};

// Every rule the layout breaks for this model and global batch, each naming the flag
// ("--tp 3 does not divide --heads 4 ..."); empty: legal. Cheap (no schedule is built): the
// planner calls it for every layout it considers.
std::vector<std::string> validate(const Layout& l, const model::ModelConfig& m, int global_batch);

}  // namespace parti::parallel
