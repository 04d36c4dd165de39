// The Llama 3 tokenizer against the npm package llama3-tokenizer-js's own JavaScript encode(),
// run with node in the test (issue #17, acceptance 4): every Brown text as `prepare` stores it
// (<|begin_of_text|> text <|end_of_text|>, the package's defaults) and hard strings.
#include "parti/data/llama3_tokenizer.h"

#include "data/npm_encoder.h"
#include "parti/core/check.h"
#include "parti/data/pretokenize.h"

namespace parti::data {
namespace {

const Llama3Tokenizer& tokenizer() {
  static const Llama3Tokenizer tok(default_llama3_dir());
  return tok;
}

TEST(Llama3Tokenizer, MatchesTheNpmEncoderOnBrownAndHardStrings) {
  const Llama3Tokenizer& tok = tokenizer();
  testing::expect_equal_to_npm(
      "llama3", [&](const std::string& text) { return tok.document(text); },
      [&](const std::vector<int32_t>& ids) {
        // The text between the begin and end tokens.
        return tok.decode(std::vector<int32_t>(ids.begin() + 1, ids.end() - 1));
      });
}

TEST(Llama3Tokenizer, KnownIds) {
  const Llama3Tokenizer& tok = tokenizer();
  // The package README's example.
  EXPECT_EQ(tok.document("Hello world!"), (std::vector<int32_t>{128000, 9906, 1917, 0, 128001}));
  EXPECT_EQ(tok.vocab_size(), 128256);
  EXPECT_EQ(tok.bos(), 128000);
  EXPECT_EQ(tok.eot(), 128001);
  EXPECT_EQ(tok.decode({128009}), "<|eot_id|>");
}

TEST(Llama3Tokenizer, PretokenizesAsLlama3sPattern) {
  auto pieces = [](const std::string& text) {
    const std::vector<uint32_t> cps = utf8_decode(text);
    return pretokenize_llama3(cps, 0, cps.size());
  };
  using P = std::vector<std::string>;
  EXPECT_EQ(pieces("I'M (hello) 12345 world!!\n\n x"),
            (P{"I", "'M", " (", "hello", ")", " ", "123", "45", " world", "!!\n\n", " x"}));
  EXPECT_EQ(pieces("a  \n\t b   "), (P{"a", "  \n", "\t", " b", "   "}));
  EXPECT_EQ(pieces("'sun"), (P{"'s", "un"}));
}

TEST(Llama3Tokenizer, MissingVocabularyIsAClearError) {
  try {
    Llama3Tokenizer tok("/nonexistent");
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tokenizer.json"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace parti::data
