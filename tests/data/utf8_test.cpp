#include "parti/data/utf8.h"

#include <gtest/gtest.h>

namespace parti::data {
namespace {

TEST(Utf8, DecodesValidText) {
  EXPECT_EQ(utf8_decode("a\xc3\xa9\xe2\x82\xac\xf0\x9f\xa4\x97"),
            (std::vector<uint32_t>{'a', 0xE9, 0x20AC, 0x1F917}));
}

TEST(Utf8, ReplacesMaximalInvalidSubpartsLikeWhatwg) {
  // Examples from the WHATWG Encoding Standard / Unicode 15 table 3-8.
  const uint32_t R = kReplacementChar;
  EXPECT_EQ(utf8_decode("\xff"), (std::vector<uint32_t>{R}));
  EXPECT_EQ(utf8_decode("\xe2\x82"), (std::vector<uint32_t>{R}));  // truncated: one
  EXPECT_EQ(utf8_decode("\xe2\x82x"), (std::vector<uint32_t>{R, 'x'}));
  EXPECT_EQ(utf8_decode("\xc0\xaf"), (std::vector<uint32_t>{R, R}));         // overlong
  EXPECT_EQ(utf8_decode("\xed\xa0\x80"), (std::vector<uint32_t>{R, R, R}));  // surrogate
  EXPECT_EQ(utf8_decode("\xf4\x90\x80\x80"), (std::vector<uint32_t>{R, R, R, R}));
}

TEST(Utf8, RoundTrips) {
  std::string s;
  for (uint32_t cp : {0x24u, 0xA2u, 0x939u, 0x20ACu, 0xD55Cu, 0x10348u}) utf8_append(s, cp);
  std::string back;
  for (uint32_t cp : utf8_decode(s)) utf8_append(back, cp);
  EXPECT_EQ(back, s);
}

}  // namespace
}  // namespace parti::data
