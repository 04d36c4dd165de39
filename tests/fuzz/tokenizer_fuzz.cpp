// libFuzzer target: any bytes as text to GPT-2's, Llama 3's and the byte tokenizer (what
// `parti prepare` feeds them from a user's corpus). Each id is inside the vocabulary, and decoding
// gives the text back as Parti documents it: invalid UTF-8 replaced by U+FFFD per maximal invalid
// subpart (utf8.h), valid text exactly.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "parti/data/tokenizer.h"
#include "parti/data/utf8.h"

namespace {

std::vector<std::unique_ptr<parti::data::Tokenizer>>& tokenizers() {
  static std::vector<std::unique_ptr<parti::data::Tokenizer>> all;
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  for (const char* kind : {"gpt2", "llama3", "byte"}) {
    tokenizers().push_back(parti::data::make_tokenizer(kind, ""));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string as_decoded;
  for (uint32_t c : parti::data::utf8_decode(text)) {
    parti::data::utf8_append(as_decoded, c);
  }
  for (const auto& tokenizer : tokenizers()) {
    const std::vector<int32_t> ids = tokenizer->encode(text);
    for (int32_t id : ids) {
      parti::fuzz::require(id >= 0 && id < tokenizer->vocab_size());
    }
    const std::string back = tokenizer->decode(ids);
    // The byte tokenizer keeps the bytes themselves; the BPEs see the decoded text.
    parti::fuzz::require(back == (tokenizer->name() == "byte" ? std::string(text) : as_decoded));
  }
  return 0;
}
