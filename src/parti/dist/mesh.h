// The mesh: world ranks arranged on named axes, tp varying fastest (Megatron's order
// "tp-cp-dp-pp"), so a tp group is made of neighbouring ranks (one node).
//   rank = tp + T * (cp + C * (dp + D * pp))            world = P * D * C * T
// Worked example, T = 2, C = 1, D = 2, P = 2 (8 ranks):
//   rank 5 = 1 + 2 * (0 + 1 * (0 + 2 * 1))  ->  (tp 1, cp 0, dp 0, pp 1)
//   its dp group: ranks with the same tp, cp, pp = {5, 7}; its tp group = {4, 5}.
// The rank arithmetic is pure (MeshShape), tested without MPI; Mesh adds the process groups.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parti/dist/process_group.h"

namespace parti::dist {

enum class Axis { tp = 0, cp = 1, dp = 2, pp = 3 };
constexpr int kAxes = 4;
const char* axis_name(Axis axis);

using Coords = std::array<int, kAxes>;  // indexed by Axis

struct MeshShape {
  Coords sizes{1, 1, 1, 1};
  // Block partitioning (issue #21): the tp group is a tp_grid x tp_grid grid, tp index = row
  // tp_grid + col; 1: none.
  int tp_grid = 1;
  int world() const { return sizes[0] * sizes[1] * sizes[2] * sizes[3]; }
  int size(Axis a) const { return sizes[static_cast<size_t>(a)]; }
  Coords coords_of(int rank) const;
  int rank_at(const Coords& c) const;
  // World ranks of `rank`'s group along `axis`, in axis order.
  std::vector<int> group_ranks(int rank, Axis axis) const;
  // World ranks of `rank`'s group along two axes, `fast` varying fastest: in the example below,
  // rank 5's (tp, dp) group is {4, 5, 6, 7}.
  std::vector<int> group_ranks(int rank, Axis fast, Axis slow) const;
  std::string describe(int rank) const;  // "tp2.dp2.pp2 rank 5 = (tp 1, cp 0, dp 0, pp 1)"
};

// Builds groups from the world group; `split(color, key)` makes the sub-group of the ranks that
// pass the same color (MPI_Comm_split). A mesh whose product differs from the world size is a
// ConfigError naming the flags.
class Mesh {
 public:
  using Split =
      std::function<std::unique_ptr<ProcessGroup>(int color, int key, const std::string& name)>;
  Mesh(const MeshShape& shape, int world_rank, int world_size, const Split& split);
  // Groups of one process, without MPI (a single-process run).
  static Split self_split();
  const MeshShape& shape() const { return shape_; }
  int rank() const { return rank_; }
  int coord(Axis a) const { return coords_[static_cast<size_t>(a)]; }
  int size(Axis a) const { return shape_.size(a); }
  ProcessGroup& group(Axis a) const { return *groups_[static_cast<size_t>(a)]; }
  // The group over two axes a layout needs: (cp, dp), over which gradients are summed and ZeRO
  // shards (the dp group itself when cp = 1). Built with the others, at construction.
  ProcessGroup& group(Axis fast, Axis slow) const;
  // Under block partitioning, the ranks of this rank's grid row (ordered by column) and of its
  // grid column (ordered by row); both within its tp group.
  ProcessGroup& grid_row() const;
  ProcessGroup& grid_col() const;
  std::string describe() const { return shape_.describe(rank_); }

 private:
  MeshShape shape_;
  int rank_;
  Coords coords_;
  std::array<std::unique_ptr<ProcessGroup>, kAxes> groups_;
  std::unique_ptr<ProcessGroup> cp_dp_;                // null when cp = 1
  std::unique_ptr<ProcessGroup> grid_row_, grid_col_;  // null without a grid
};

}  // namespace parti::dist
