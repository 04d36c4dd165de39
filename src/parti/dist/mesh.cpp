#include "parti/dist/mesh.h"

#include "parti/core/check.h"

namespace parti::dist {

const char* axis_name(Axis axis) {
  switch (axis) {
    case Axis::tp:
      return "tp";
    case Axis::cp:
      return "cp";
    case Axis::dp:
      return "dp";
    case Axis::pp:
      return "pp";
  }
  return "?";
}

Coords MeshShape::coords_of(int rank) const {
  Coords c{};
  for (size_t a = 0; a < kAxes; ++a) {
    c[a] = rank % sizes[a];
    rank /= sizes[a];
  }
  return c;
}

int MeshShape::rank_at(const Coords& c) const {
  int rank = 0;
  for (size_t a = kAxes; a-- > 0;) {
    rank = rank * sizes[a] + c[a];
  }
  return rank;
}

std::vector<int> MeshShape::group_ranks(int rank, Axis axis) const {
  Coords c = coords_of(rank);
  std::vector<int> ranks;
  for (int i = 0; i < size(axis); ++i) {
    c[static_cast<size_t>(axis)] = i;
    ranks.push_back(rank_at(c));
  }
  return ranks;
}

std::vector<int> MeshShape::group_ranks(int rank, Axis fast, Axis slow) const {
  Coords c = coords_of(rank);
  std::vector<int> ranks;
  for (int j = 0; j < size(slow); ++j) {
    for (int i = 0; i < size(fast); ++i) {
      c[static_cast<size_t>(fast)] = i;
      c[static_cast<size_t>(slow)] = j;
      ranks.push_back(rank_at(c));
    }
  }
  return ranks;
}

namespace {

// "dp[1,3]": the group's axes and members.
std::string group_name(const std::string& axes, const std::vector<int>& ranks) {
  std::string name = axes + "[";
  for (size_t i = 0; i < ranks.size(); ++i) {
    name += (i ? "," : "") + std::to_string(ranks[i]);
  }
  return name + "]";
}

}  // namespace

std::string MeshShape::describe(int rank) const {
  std::string layout;
  for (Axis a : {Axis::tp, Axis::cp, Axis::dp, Axis::pp}) {
    if (size(a) > 1) {
      layout += (layout.empty() ? "" : ".") + std::string(axis_name(a)) + std::to_string(size(a));
    }
  }
  const Coords c = coords_of(rank);
  return str_cat(layout.empty() ? "single" : layout, " rank ", rank, " = (tp ", c[0], ", cp ", c[1],
                 ", dp ", c[2], ", pp ", c[3], ")");
}

Mesh::Mesh(const MeshShape& shape, int world_rank, int world_size, const Split& split)
    : shape_(shape), rank_(world_rank), coords_(shape.coords_of(world_rank)) {
  PARTI_CHECK(shape.world() == world_size, ConfigError, "--dp ", shape.size(Axis::dp), " x --tp ",
              shape.size(Axis::tp), " x --cp ", shape.size(Axis::cp), " x --pp ",
              shape.size(Axis::pp), " = ", shape.world(), " ranks, but the job has ", world_size,
              " (mpirun -np)");
  for (Axis a : {Axis::tp, Axis::cp, Axis::dp, Axis::pp}) {
    const std::vector<int> ranks = shape.group_ranks(world_rank, a);
    // Color: the group's first member identifies it; key: position along the axis.
    groups_[static_cast<size_t>(a)] =
        split(ranks.front(), coords_[static_cast<size_t>(a)], group_name(axis_name(a), ranks));
  }
  if (shape.size(Axis::cp) > 1) {
    const std::vector<int> ranks = shape.group_ranks(world_rank, Axis::cp, Axis::dp);
    cp_dp_ = split(ranks.front(), coord(Axis::cp) + size(Axis::cp) * coord(Axis::dp),
                   group_name("dp_cp", ranks));
  }
  const int q = shape.tp_grid;
  if (q > 1) {
    PARTI_ASSERT(size(Axis::tp) == q * q, "a ", q, " x ", q, " grid of tp ", size(Axis::tp));
    const std::vector<int> tp = shape.group_ranks(world_rank, Axis::tp);
    const int row = coord(Axis::tp) / q, col = coord(Axis::tp) % q;
    std::vector<int> rows, cols;
    for (int k = 0; k < q; ++k) {
      rows.push_back(tp[static_cast<size_t>(row * q + k)]);
      cols.push_back(tp[static_cast<size_t>(k * q + col)]);
    }
    grid_row_ = split(rows.front(), col, group_name("tp_row", rows));
    grid_col_ = split(cols.front(), row, group_name("tp_col", cols));
  }
}

ProcessGroup& Mesh::grid_row() const {
  PARTI_ASSERT(grid_row_ != nullptr, "a mesh without a tp grid");
  return *grid_row_;
}

ProcessGroup& Mesh::grid_col() const {
  PARTI_ASSERT(grid_col_ != nullptr, "a mesh without a tp grid");
  return *grid_col_;
}

ProcessGroup& Mesh::group(Axis fast, Axis slow) const {
  PARTI_ASSERT(fast == Axis::cp && slow == Axis::dp,
               "the mesh builds the (cp, dp) group only, not (", axis_name(fast), ", ",
               axis_name(slow), ")");
  return cp_dp_ != nullptr ? *cp_dp_ : group(Axis::dp);
}

Mesh::Split Mesh::self_split() {
  return [](int, int, const std::string& name) { return make_self_group(name); };
}

}  // namespace parti::dist
