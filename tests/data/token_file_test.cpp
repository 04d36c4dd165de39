#include "parti/data/token_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "parti/core/check.h"
#include "parti/data/sampler.h"
#include "support/scratch.h"

namespace parti::data {
namespace {

namespace fs = std::filesystem;

std::string temp(const std::string& name) { return test::scratch(name); }

void expect_error(const std::string& path, const std::string& needle) {
  try {
    read_token_file(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "names the file";
  }
}

TEST(TokenFile, RoundTrip) {
  TokenFile f{300, 299, {1, 2, 299, 0}};
  write_token_file(temp("ok"), f);
  TokenFile g = read_token_file(temp("ok"));
  EXPECT_EQ(g.tokens, f.tokens);
  EXPECT_EQ(g.vocab_size, 300);
  EXPECT_EQ(g.eot, 299);
  EXPECT_EQ(fs::file_size(temp("ok")), 64u + 8u);
}

TEST(TokenFile, VocabulariesOver65536IdsStore32BitIds) {
  TokenFile f{128256, 128001, {128000, 9906, 1917, 0, 65536, 128001}};
  write_token_file(temp("wide"), f);
  EXPECT_EQ(fs::file_size(temp("wide")), 64u + 6u * 4u);
  TokenFile g = read_token_file(temp("wide"));
  EXPECT_EQ(g.tokens, f.tokens);
  EXPECT_EQ(g.vocab_size, 128256);
  TokenFile narrow{65536, 0, {65535, 0}};  // the largest vocabulary 16-bit ids hold
  write_token_file(temp("narrow"), narrow);
  EXPECT_EQ(fs::file_size(temp("narrow")), 64u + 2u * 2u);
  EXPECT_EQ(read_token_file(temp("narrow")).tokens, narrow.tokens);
  {  // a header that claims 2 bytes per token for a vocabulary that needs 4
    std::fstream io(temp("wide"), std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(20);
    io.put('\x02');
  }
  expect_error(temp("wide"), "2 bytes per token, expected 4");
}

// Written as it grows, in pieces: the same bytes as written at once; nothing at `path` before
// close().
TEST(TokenFile, AWriterInPiecesEqualsOneWrite) {
  TokenFile f{128256, 128001, {128000, 9906, 1917, 0, 65536, 128001, 7, 8, 9}};
  write_token_file(temp("whole"), f);
  fs::remove(temp("pieces"));
  {
    TokenFileWriter w(temp("pieces"), f.vocab_size, f.eot);
    const std::vector<int32_t> ids(f.tokens.begin(), f.tokens.end());
    w.append(ids.data(), 4);
    w.append(ids.data() + 4, 0);
    w.append(ids.data() + 4, 5);
    EXPECT_FALSE(fs::exists(temp("pieces")));
    w.close();
    EXPECT_EQ(w.count(), 9u);
  }
  std::ifstream a(temp("whole"), std::ios::binary), b(temp("pieces"), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(a), {}),
            std::string(std::istreambuf_iterator<char>(b), {}));
  EXPECT_EQ(read_token_file(temp("pieces")).tokens, f.tokens);
}

TEST(TokenFile, RejectsBadFiles) {
  expect_error(temp("missing"), "cannot open");
  TokenFile f{300, 299, {1, 2, 3, 4, 5}};
  write_token_file(temp("trunc"), f);
  fs::resize_file(temp("trunc"), 64 + 6);
  expect_error(temp("trunc"), "truncated");
  fs::resize_file(temp("trunc"), 10);
  expect_error(temp("trunc"), "truncated");
  std::ofstream(temp("header"), std::ios::binary) << std::string(80, 'x');
  expect_error(temp("header"), "wrong header");
  TokenFile bad{300, 299, {1, 2, 300}};
  write_token_file(temp("vocab"), bad);
  expect_error(temp("vocab"), "token id 300 at position 2 is outside the vocabulary");
  {  // found by tests/fuzz: a vocabulary of 2^31 ids read back as a negative int
    std::fstream io(temp("vocab"), std::ios::in | std::ios::out | std::ios::binary);
    const uint32_t huge = 1u << 31;
    io.seekp(12);
    io.write(reinterpret_cast<const char*>(&huge), sizeof(huge));
  }
  expect_error(temp("vocab"), "wrong header: vocabulary 2147483648");
  write_token_file(temp("flip"), f);
  {
    std::fstream io(temp("flip"), std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(66);
    io.put('\x07');
  }
  expect_error(temp("flip"), "checksum");
}

TEST(Sampler, IsAPureFunctionOfSeedStepAndIndex) {
  TokenFile f{1000, 999, {}};
  for (int i = 0; i < 5000; ++i) f.tokens.push_back(static_cast<uint32_t>(i % 1000));
  Sampler a(f, 16, 8, 7), b(f, 16, 8, 7);
  std::vector<int32_t> in1(8 * 16), tg1(8 * 16), in2(4 * 16), tg2(4 * 16);
  a.fill(3, 0, 8, in1.data(), tg1.data());
  b.fill(3, 4, 4, in2.data(), tg2.data());  // rows 4..7 drawn alone (as a dp rank would)
  for (size_t i = 0; i < in2.size(); ++i) {
    EXPECT_EQ(in2[i], in1[4 * 16 + i]);
    EXPECT_EQ(tg2[i], tg1[4 * 16 + i]);
  }
  EXPECT_EQ(tg1[0], in1[1]);  // targets are inputs shifted by one
  EXPECT_NE(a.start_of(3, 0), a.start_of(4, 0));
}

}  // namespace
}  // namespace parti::data
