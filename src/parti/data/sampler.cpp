#include "parti/data/sampler.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "parti/core/check.h"
#include "parti/core/rng.h"

namespace parti::data {
namespace {

void copy_window(const TokenSplit& split, size_t start, int seq_len, int32_t* inputs,
                 int32_t* targets) {
  thread_local std::vector<uint32_t> window;
  window.resize(static_cast<size_t>(seq_len) + 1);
  split.read(start, window.size(), window.data());
  for (size_t t = 0; t + 1 < window.size(); ++t) {
    inputs[t] = static_cast<int32_t>(window[t]);
    targets[t] = static_cast<int32_t>(window[t + 1]);
  }
}

int64_t split_windows(const TokenSplit& split, int seq_len) {
  return static_cast<int64_t>(split.size() / (static_cast<size_t>(seq_len) + 1));
}

}  // namespace

Sampler::Sampler(Blend blend, int seq_len, int global_batch, uint64_t seed)
    : blend_(std::move(blend)), seq_len_(seq_len), global_batch_(global_batch), seed_(seed) {
  for (size_t k = 0; k < blend_.splits.size(); ++k) {
    const TokenSplit& split = blend_.splits[k];
    PARTI_CHECK(split.size() > static_cast<size_t>(seq_len) + 1, DataError, split.where(), ": ",
                split.size(), " training tokens, fewer than --seq-len ", seq_len, " + 2");
    streams_.push_back(core::name_stream(k == 0 ? "train" : "train/" + std::to_string(k)));
  }
}

std::pair<int, size_t> Sampler::start_of(int64_t step, int sample) const {
  return start_of_sample(static_cast<uint64_t>(step) * static_cast<uint64_t>(global_batch_) +
                         static_cast<uint64_t>(sample));
}

std::pair<int, size_t> Sampler::start_of_sample(uint64_t n) const {
  const BlendSchedule::Pick pick = blend_.schedule.at(n);
  const auto k = static_cast<size_t>(pick.dataset);
  const uint64_t span = blend_.splits[k].size() - static_cast<uint64_t>(seq_len_);
  return {pick.dataset,
          static_cast<size_t>(core::random_bits(seed_, streams_[k], pick.index) % span)};
}

void Sampler::fill(int64_t step, int first, int rows, int32_t* inputs, int32_t* targets) const {
  fill_samples(static_cast<uint64_t>(step) * static_cast<uint64_t>(global_batch_) +
                   static_cast<uint64_t>(first),
               rows, inputs, targets);
}

void Sampler::fill_samples(uint64_t first, int rows, int32_t* inputs, int32_t* targets) const {
  for (int r = 0; r < rows; ++r) {
    const size_t offset = static_cast<size_t>(r) * static_cast<size_t>(seq_len_);
    const auto [dataset, start] = start_of_sample(first + static_cast<uint64_t>(r));
    copy_window(blend_.splits[static_cast<size_t>(dataset)], start, seq_len_, inputs + offset,
                targets + offset);
  }
}

int64_t window_count(const Blend& blend, int seq_len) {
  int64_t count = -1;
  for (size_t k = 0; k < blend.splits.size(); ++k) {
    const auto whole = static_cast<double>(split_windows(blend.splits[k], seq_len));
    const auto most =
        static_cast<int64_t>(std::floor(whole / blend.schedule.weight(static_cast<int>(k))));
    count = count < 0 ? most : std::min(count, most);
  }
  return count;
}

void fill_windows(const Blend& blend, int seq_len, int64_t first, int rows, int32_t* inputs,
                  int32_t* targets) {
  for (int r = 0; r < rows; ++r) {
    const BlendSchedule::Pick pick = blend.schedule.at(static_cast<uint64_t>(first + r));
    const TokenSplit& split = blend.splits[static_cast<size_t>(pick.dataset)];
    // |c_k - w_k n| < 1 may reach one window past a dataset's last: wrap to its first.
    const auto window =
        pick.index % static_cast<uint64_t>(std::max<int64_t>(1, split_windows(split, seq_len)));
    const size_t start = window * (static_cast<size_t>(seq_len) + 1);
    const size_t offset = static_cast<size_t>(r) * static_cast<size_t>(seq_len);
    copy_window(split, start, seq_len, inputs + offset, targets + offset);
  }
}

}  // namespace parti::data
