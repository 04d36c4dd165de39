// Datasets blended by weight (Megatron's data blend): `--data a:0.7,b:0.3` trains on prepared
// corpora a and b, 70% of the samples from a. Which dataset sample n of the run comes from is
// Megatron's greedy rule, so the shares are exact at every n, not only on average:
//
//   sample n goes to  k = argmax_k (w_k (n + 1) - c_k(n))   (ties: the lowest k)
//   and is that dataset's sample c_k(n);  c_k(n + 1) = c_k(n) + [k chosen]
//   so |c_k(n) - w_k n| < 1 for every k and n.
//
// The rule depends on n alone (and the weights), so every layout and a resumed run see the same
// sequence; its state (the counts) is recomputed from n = 0, never stored in a checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parti/data/token_split.h"

namespace parti::data {

struct BlendPart {
  std::string dir;
  double weight = 1.0;  // normalised: the parts' weights sum to 1
};

// `--data DIR` (one part, weight 1) or `--data DIR:W,DIR:W,...` (weights > 0, any scale).
// Throws ConfigError naming the part that is wrong.
std::vector<BlendPart> parse_blend(const std::string& flag);

class BlendSchedule {
 public:
  struct Pick {
    int dataset = 0;
    uint64_t index = 0;  // the dataset's own sample number
  };
  explicit BlendSchedule(std::vector<double> weights);  // positive, any scale
  // The pick for sample n. Asked in increasing n it costs O(datasets) a sample; asked for an
  // earlier n it starts again from 0. The counts are a cache: one thread at a time.
  Pick at(uint64_t n) const;
  size_t datasets() const { return weights_.size(); }
  double weight(int k) const { return weights_[static_cast<size_t>(k)]; }

 private:
  std::vector<double> weights_;
  mutable uint64_t next_ = 0;             // the sample the counts stand before
  mutable std::vector<uint64_t> counts_;  // c_k(next_)
};

// One split of each blended dataset with the blend's schedule. A single split is the blend of
// one (every pick is dataset 0, index n), which is how plain `--data DIR` runs.
struct Blend {
  Blend() : Blend(TokenSplit()) {}  // of one empty split
  Blend(TokenSplit one);            // NOLINT(google-explicit-constructor)
  Blend(const TokenFile& one);      // NOLINT(google-explicit-constructor)
  Blend(std::vector<TokenSplit> splits, std::vector<double> weights);
  std::vector<TokenSplit> splits;
  BlendSchedule schedule;
};

// Split `name` ("train" or "val") of each dataset of `--data` (parse_blend). The datasets must
// share their vocabulary and end-of-text id; DataError names the one that differs.
Blend open_blend(const std::string& data_flag, const std::string& name);

}  // namespace parti::data
