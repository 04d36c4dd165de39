// GPT-2 byte-level BPE; see tokenizer.h. Symbols are raw byte strings (the package's
// byte-to-unicode mapping is a bijection, so merging bytes is merging its characters).
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "parti/data/tokenizer.h"

namespace parti::data {

class BpeTokenizer : public Tokenizer {
 public:
  explicit BpeTokenizer(const std::string& dir);
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int vocab_size() const override { return static_cast<int>(id_to_bytes_.size()); }
  int32_t eot() const override { return eot_; }
  std::string name() const override { return "gpt2"; }

 private:
  void bpe(const std::string& piece, std::vector<int32_t>& out) const;
  std::unordered_map<std::string, int32_t> bytes_to_id_;
  std::vector<std::string> id_to_bytes_;
  std::unordered_map<std::string, int> ranks_;  // "first,second" (raw bytes) -> merge rank
  int32_t eot_ = -1;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace parti::data
