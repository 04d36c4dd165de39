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
    std::string name = std::string(axis_name(a)) + "[";
    for (size_t i = 0; i < ranks.size(); ++i) {
      name += (i ? "," : "") + std::to_string(ranks[i]);
    }
    name += "]";
    groups_[static_cast<size_t>(a)] = split(ranks.front(), coords_[static_cast<size_t>(a)], name);
  }
}

}  // namespace parti::dist
