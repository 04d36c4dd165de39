// Which tokens each sample of each step trains on: a pure function of (seed, step, sample index),
// so any layout (and a resumed run) draws exactly the rows one process would.
//   sample i of step s is sample n = s*G + i of the run (a changing batch: the samples before
//   step s, plus i); the blend (blend.h) makes it sample c of
//   dataset k, whose split holds N_k tokens:
//   tokens_k[start .. start + T], start = bits(seed, stream_k, c) mod (N_k - T)
//   stream_0 = "train" (so plain --data DIR, the blend of one, has c = n), stream_k = "train/k"
// (T + 1 tokens: inputs are the first T, targets the last T). G is the global batch in rows.
#pragma once

#include <cstdint>
#include <vector>

#include "parti/data/blend.h"

namespace parti::data {

class Sampler {
 public:
  Sampler(Blend blend, int seq_len, int global_batch, uint64_t seed);
  // Fills inputs and targets (rows x T) with samples [first, first + rows) of `step`.
  void fill(int64_t step, int first, int rows, int32_t* inputs, int32_t* targets) const;
  // Where sample `sample` of `step` starts: its dataset and token position there.
  std::pair<int, size_t> start_of(int64_t step, int sample) const;
  // The same by the run's sample numbers: a run whose batch changes (parallel/batch/) numbers its
  // samples by what came before, step s's sample i being n = (samples before step s) + i.
  void fill_samples(uint64_t first, int rows, int32_t* inputs, int32_t* targets) const;
  std::pair<int, size_t> start_of_sample(uint64_t n) const;

 private:
  Blend blend_;
  std::vector<uint64_t> streams_;
  int seq_len_;
  int global_batch_;
  uint64_t seed_;
};

// Consecutive non-overlapping windows of T + 1 tokens from the start (evaluation):
// window w = tokens[w*(T+1) .. (w+1)*(T+1)). Of a blend, window w is window c of dataset k by the
// blend's rule (over windows), and the count stops before any dataset would run out:
// min_k floor(windows_k / w_k).
int64_t window_count(const Blend& blend, int seq_len);
void fill_windows(const Blend& blend, int seq_len, int64_t first, int rows, int32_t* inputs,
                  int32_t* targets);

}  // namespace parti::data
