// Which tokens each sample of each step trains on: a pure function of (seed, step, sample index),
// so any layout (and a resumed run) draws exactly the rows one process would.
//   sample i of step s = tokens[start .. start + T], start = bits(seed, "train", s*G + i) mod (N -
//   T)
// (T + 1 tokens: inputs are the first T, targets the last T). G is the global batch in rows.
#pragma once

#include <cstdint>
#include <vector>

#include "parti/data/token_file.h"

namespace parti::data {

class Sampler {
 public:
  Sampler(const TokenFile& file, int seq_len, int global_batch, uint64_t seed);
  // Fills inputs and targets (rows x T) with samples [first, first + rows) of `step`.
  void fill(int64_t step, int first, int rows, int32_t* inputs, int32_t* targets) const;
  size_t start_of(int64_t step, int sample) const;

 private:
  const TokenFile& file_;
  int seq_len_;
  int global_batch_;
  uint64_t seed_;
};

// Consecutive non-overlapping windows of T + 1 tokens from the start (evaluation):
// window w = tokens[w*(T+1) .. (w+1)*(T+1)). Returns how many whole windows the file holds.
int64_t window_count(const TokenFile& file, int seq_len);
void fill_windows(const TokenFile& file, int seq_len, int64_t first, int rows, int32_t* inputs,
                  int32_t* targets);

}  // namespace parti::data
