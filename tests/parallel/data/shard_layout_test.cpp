// ZeRO's sharding of units over a group: every element of every unit is owned by exactly one
// rank, blocks are ceil(size / ranks) long with the short or empty ones last, and each rank's
// shard buffer places its blocks at full block length, in unit order.
#include "parti/parallel/data/shard_layout.h"

#include <gtest/gtest.h>

#include <vector>

namespace parti::parallel::data {
namespace {

TEST(ShardLayout, EveryElementHasExactlyOneOwner) {
  // Units of 10, 3, 0 and 1 elements: short, empty and single-element blocks at 4 ranks.
  const std::vector<Unit> units = {{0, 10}, {10, 13}, {13, 13}, {13, 14}};
  std::vector<int> owners(14, 0);
  for (int r = 0; r < 4; ++r) {
    ShardLayout layout(units, 4, r);
    EXPECT_EQ(layout.block(0), 3u);
    EXPECT_EQ(layout.block(1), 1u);
    EXPECT_EQ(layout.block(2), 0u);
    EXPECT_EQ(layout.block(3), 1u);
    EXPECT_EQ(layout.shard_size(), 5u);
    EXPECT_EQ(layout.shard_offset(1), 3u);
    EXPECT_EQ(layout.shard_offset(3), 4u);
    size_t segment_elements = 0;
    for (const optim::Segment& s : layout.segments()) {
      EXPECT_GT(s.count, 0u);
      segment_elements += s.count;
      for (size_t i = s.begin; i < s.begin + s.count; ++i) ++owners[i];
    }
    size_t owned = 0;
    for (int u = 0; u < layout.count(); ++u) owned += layout.owned(u);
    EXPECT_EQ(owned, segment_elements);
  }
  for (int n : owners) EXPECT_EQ(n, 1);
  // Unit 0 (10 elements): blocks of 3, 3, 3, 1.
  EXPECT_EQ(ShardLayout(units, 4, 3).owned(0), 1u);
  EXPECT_EQ(ShardLayout(units, 4, 3).owned_begin(0), 9u);
  // Unit 1 (3 elements): rank 3's block is empty and starts at the unit's end.
  EXPECT_EQ(ShardLayout(units, 4, 3).owned(1), 0u);
  EXPECT_EQ(ShardLayout(units, 4, 3).owned_begin(1), 13u);
}

TEST(ShardLayout, BlocksAreWholeGranules) {
  // 10 rows of 4 at 3 ranks: 4, 4 and 2 rows (not 13.3 elements each).
  ShardLayout layout({{0, 40, 4}}, 3, 2);
  EXPECT_EQ(layout.block(0), 16u);
  EXPECT_EQ(layout.owned(0), 8u);
  EXPECT_EQ(layout.owned_begin(0), 32u);
}

TEST(ShardLayout, OneRankOwnsEverything) {
  ShardLayout layout({{0, 7}, {7, 20}}, 1, 0);
  ASSERT_EQ(layout.segments().size(), 2u);
  EXPECT_EQ(layout.shard_size(), 20u);
  EXPECT_EQ(layout.owned_begin(1), 7u);
}

}  // namespace
}  // namespace parti::parallel::data
