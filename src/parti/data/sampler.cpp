#include "parti/data/sampler.h"

#include "parti/core/check.h"
#include "parti/core/rng.h"

namespace parti::data {
namespace {

void copy_window(const TokenFile& file, size_t start, int seq_len, int32_t* inputs,
                 int32_t* targets) {
  for (int t = 0; t < seq_len; ++t) {
    inputs[t] = static_cast<int32_t>(file.tokens[start + static_cast<size_t>(t)]);
    targets[t] = static_cast<int32_t>(file.tokens[start + static_cast<size_t>(t) + 1]);
  }
}

}  // namespace

Sampler::Sampler(const TokenFile& file, int seq_len, int global_batch, uint64_t seed)
    : file_(file), seq_len_(seq_len), global_batch_(global_batch), seed_(seed) {
  PARTI_CHECK(file.tokens.size() > static_cast<size_t>(seq_len) + 1, DataError,
              "the training split has ", file.tokens.size(), " tokens, fewer than --seq-len ",
              seq_len, " + 2");
}

size_t Sampler::start_of(int64_t step, int sample) const {
  const uint64_t counter = static_cast<uint64_t>(step) * static_cast<uint64_t>(global_batch_) +
                           static_cast<uint64_t>(sample);
  const uint64_t span = file_.tokens.size() - static_cast<uint64_t>(seq_len_);
  return static_cast<size_t>(core::random_bits(seed_, core::name_stream("train"), counter) % span);
}

void Sampler::fill(int64_t step, int first, int rows, int32_t* inputs, int32_t* targets) const {
  for (int r = 0; r < rows; ++r) {
    const size_t offset = static_cast<size_t>(r) * static_cast<size_t>(seq_len_);
    copy_window(file_, start_of(step, first + r), seq_len_, inputs + offset, targets + offset);
  }
}

int64_t window_count(const TokenFile& file, int seq_len) {
  return static_cast<int64_t>(file.tokens.size() / (static_cast<size_t>(seq_len) + 1));
}

void fill_windows(const TokenFile& file, int seq_len, int64_t first, int rows, int32_t* inputs,
                  int32_t* targets) {
  for (int r = 0; r < rows; ++r) {
    const size_t start = static_cast<size_t>(first + r) * (static_cast<size_t>(seq_len) + 1);
    const size_t offset = static_cast<size_t>(r) * static_cast<size_t>(seq_len);
    copy_window(file, start, seq_len, inputs + offset, targets + offset);
  }
}

}  // namespace parti::data
