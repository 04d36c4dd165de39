// How ZeRO shards the flat buffers over a dp group, unit by unit (FSDP's flat parameters): unit
// u, the flat range [begin, end) of one part of the model (the embeddings, a block, the final
// norm), is cut into `ranks` blocks of ceil(size / ranks) elements (rounded up to the unit's
// granule), the last ones short or empty, and rank r owns block r. A rank's shard buffer holds its
// block of every unit one after another, each at full block length (the tail of a short block is
// unused), so that unit u's block is a reduce_scatter_v / all_gather_v of the unit over the group.
#pragma once

#include <cstddef>
#include <vector>

#include "parti/model/model.h"
#include "parti/optim/adamw.h"

namespace parti::parallel::data {

using model::Unit;  // a flat range [begin, end); blocks are whole multiples of its granule

class ShardLayout {
 public:
  // `units` tile a flat buffer in order.
  ShardLayout(std::vector<Unit> units, int ranks, int rank);
  int ranks() const { return ranks_; }
  int rank() const { return rank_; }
  int count() const { return static_cast<int>(units_.size()); }
  const Unit& unit(int u) const { return units_.at(static_cast<size_t>(u)); }
  size_t block(int u) const;         // block length of unit u
  size_t owned(int u) const;         // elements of unit u this rank owns (its block's length)
  size_t owned_begin(int u) const;   // flat offset of this rank's block of unit u
  size_t shard_offset(int u) const;  // where that block starts in the shard buffer
  size_t shard_size() const { return shard_size_; }
  // This rank's non-empty blocks as flat ranges, in unit order (AdamW's segments).
  std::vector<optim::Segment> segments() const;

 private:
  std::vector<Unit> units_;
  int ranks_;
  int rank_;
  std::vector<size_t> shard_offsets_;
  size_t shard_size_ = 0;
};

}  // namespace parti::parallel::data
