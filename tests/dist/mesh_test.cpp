// Rank <-> coordinates and group membership, exact values (no MPI): the worked example of
// mesh.h and Megatron-style orderings.
#include "parti/dist/mesh.h"

#include <gtest/gtest.h>

#include <tuple>

#include "parti/core/check.h"

namespace parti::dist {
namespace {

MeshShape shape(int tp, int cp, int dp, int pp) {
  MeshShape s;
  s.sizes = {tp, cp, dp, pp};
  return s;
}

TEST(Mesh, WorkedExampleTp2Dp2Pp2) {
  const MeshShape s = shape(2, 1, 2, 2);
  EXPECT_EQ(s.world(), 8);
  EXPECT_EQ(s.coords_of(5), (Coords{1, 0, 0, 1}));
  EXPECT_EQ(s.rank_at({1, 0, 0, 1}), 5);
  EXPECT_EQ(s.group_ranks(5, Axis::dp), (std::vector<int>{5, 7}));
  EXPECT_EQ(s.group_ranks(5, Axis::tp), (std::vector<int>{4, 5}));
  EXPECT_EQ(s.group_ranks(5, Axis::pp), (std::vector<int>{1, 5}));
  EXPECT_EQ(s.describe(5), "tp2.dp2.pp2 rank 5 = (tp 1, cp 0, dp 0, pp 1)");
  for (int r = 0; r < 8; ++r) {
    EXPECT_EQ(s.rank_at(s.coords_of(r)), r);
  }
}

TEST(Mesh, TpIsFastestThenCpThenDpThenPp) {
  const MeshShape s = shape(2, 2, 2, 1);
  EXPECT_EQ(s.group_ranks(0, Axis::tp), (std::vector<int>{0, 1}));
  EXPECT_EQ(s.group_ranks(0, Axis::cp), (std::vector<int>{0, 2}));
  EXPECT_EQ(s.group_ranks(0, Axis::dp), (std::vector<int>{0, 4}));
  EXPECT_EQ(shape(1, 1, 8, 1).group_ranks(3, Axis::dp), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

// Gradients are summed over dp x cp: the mesh builds that group too, cp fastest, with the same
// colour on every member and each member's position as its key.
TEST(Mesh, BuildsTheDpCpGroup) {
  const MeshShape s = shape(2, 2, 2, 1);
  EXPECT_EQ(s.group_ranks(0, Axis::cp, Axis::dp), (std::vector<int>{0, 2, 4, 6}));
  EXPECT_EQ(s.group_ranks(5, Axis::cp, Axis::dp), (std::vector<int>{1, 3, 5, 7}));
  std::vector<std::tuple<int, int, std::string>> calls;
  const Mesh::Split record = [&](int color, int key, const std::string& name) {
    calls.emplace_back(color, key, name);
    return make_self_group(name);
  };
  const Mesh mesh(s, 7, 8, record);  // rank 7 = (tp 1, cp 1, dp 1)
  ASSERT_EQ(calls.size(), 5u);       // tp, cp, dp, pp, then (cp, dp)
  EXPECT_EQ(calls[4], std::make_tuple(1, 3, std::string("dp_cp[1,3,5,7]")));
  EXPECT_EQ(mesh.group(Axis::cp, Axis::dp).name(), "dp_cp[1,3,5,7]");
  const Mesh no_cp(shape(2, 1, 2, 1), 3, 4, Mesh::self_split());
  EXPECT_EQ(&no_cp.group(Axis::cp, Axis::dp), &no_cp.group(Axis::dp));
}

TEST(Mesh, WorldMismatchNamesTheFlags) {
  auto self = [](int, int, const std::string& name) { return make_self_group(name); };
  try {
    Mesh mesh(shape(1, 1, 2, 1), 0, 1, self);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--dp 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the job has 1"), std::string::npos) << e.what();
  }
  Mesh single(shape(1, 1, 1, 1), 0, 1, self);
  EXPECT_EQ(single.group(Axis::dp).size(), 1);
  EXPECT_EQ(single.group(Axis::dp).name(), "dp[0]");
}

}  // namespace
}  // namespace parti::dist
