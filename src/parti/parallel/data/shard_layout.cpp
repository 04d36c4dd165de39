#include "parti/parallel/data/shard_layout.h"

#include <algorithm>

#include "parti/core/check.h"
#include "parti/dist/process_group.h"

namespace parti::parallel::data {

ShardLayout::ShardLayout(std::vector<Unit> units, int ranks, int rank)
    : units_(std::move(units)), ranks_(ranks), rank_(rank) {
  PARTI_ASSERT(ranks >= 1 && rank >= 0 && rank < ranks, "rank ", rank, " of ", ranks);
  for (size_t u = 0; u < units_.size(); ++u) {
    PARTI_ASSERT(units_[u].granule >= 1 && units_[u].begin <= units_[u].end &&
                     (u == 0 ? units_[u].begin == 0 : units_[u].begin == units_[u - 1].end),
                 "units must tile the flat buffer in order (unit ", u, ")");
    shard_offsets_.push_back(shard_size_);
    shard_size_ += block(static_cast<int>(u));
  }
}

size_t ShardLayout::block(int u) const {
  const size_t step = static_cast<size_t>(ranks_) * unit(u).granule;
  return (unit(u).size() + step - 1) / step * unit(u).granule;
}

size_t ShardLayout::owned(int u) const {
  return dist::block_length(rank_, block(u), unit(u).size());
}

size_t ShardLayout::owned_begin(int u) const {
  return std::min(unit(u).end, unit(u).begin + static_cast<size_t>(rank_) * block(u));
}

size_t ShardLayout::shard_offset(int u) const { return shard_offsets_.at(static_cast<size_t>(u)); }

std::vector<optim::Segment> ShardLayout::segments() const {
  std::vector<optim::Segment> out;
  for (int u = 0; u < count(); ++u) {
    if (owned(u) > 0) {
      out.push_back({owned_begin(u), owned(u)});
    }
  }
  return out;
}

}  // namespace parti::parallel::data
