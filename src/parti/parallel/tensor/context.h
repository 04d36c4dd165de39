// The tensor-parallel context a layer gets (issue #16): its place in the tp group and how the
// activations between sublayers are laid out. Layers talk to the group only through the
// mappings (mappings.h), never directly, so model/ names no process group. Built by whoever owns
// the tp group (make_tensor_parallel); a pass without one (null) is tp = 1.
#pragma once

namespace parti::dist {
class ProcessGroup;
}

namespace parti::parallel::tensor {

// What a grid's SUMMA products did, added up: the products' time, the time waited for their
// broadcasts and reductions after posting them (the part not hidden behind products), and how
// many of those transfers were already complete when a step needed them.
struct GridStats {
  double compute_s = 0.0;
  double wait_s = 0.0;
  long long transfers = 0;
  long long hidden = 0;
};

struct TensorParallel {
  dist::ProcessGroup* group = nullptr;  // the tp group
  int size = 1;                         // tp
  int rank = 0;
  // Sequence parallelism (Korthikanti et al. 2022): between sublayers each rank holds the r-th
  // contiguous chunk of the micro-batch's B x T tokens in (B, T) order.
  bool sp = false;
  // Block partitioning (issue #21): the group is a grid x grid grid, rank = row grid + col. Rank
  // (row, col) holds the row-th of `grid` equal parts of the micro-batch's samples and, between
  // sublayers, the col-th part of the width; a linear layer's products are SUMMA's (summa.h).
  int grid = 1;
  int row = 0, col = 0;
  dist::ProcessGroup* row_group = nullptr;  // the grid row's ranks (same samples), by column
  dist::ProcessGroup* col_group = nullptr;  // the grid column's ranks, by row
  GridStats* stats = nullptr;               // null: not counted
  bool block() const { return grid > 1; }
};

}  // namespace parti::parallel::tensor
