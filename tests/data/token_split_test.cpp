// A corpus split in shards (issue #19): written in shards of any size it reads back as the one
// sequence its one-file form holds, across every shard boundary; a damaged, missing or foreign
// shard is named.
#include "parti/data/token_split.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "parti/core/check.h"
#include "parti/data/sampler.h"
#include "support/scratch.h"

namespace parti::data {
namespace {

namespace fs = std::filesystem;

std::vector<int32_t> ids(size_t n, int vocab) {
  std::vector<int32_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>((i * 7919 + i / 3) % vocab);
  return out;
}

// `tokens` written as split "train" of a corpus folder in shards of `shard` tokens, fed to the
// writer in pieces of `piece`; meta.json holds the index as `parti prepare` writes it.
std::string write_split(const std::string& name, const std::vector<int32_t>& tokens, int vocab,
                        uint64_t shard, size_t piece) {
  const std::string dir = test::scratch(name);
  fs::create_directories(dir);
  TokenSplitWriter writer(dir, "train", vocab, vocab - 1, shard);
  for (size_t at = 0; at < tokens.size(); at += piece) {
    writer.append(tokens.data() + at, std::min(piece, tokens.size() - at));
  }
  const nlohmann::ordered_json meta = {{"shards", {{"train", shard_index(writer.close())}}}};
  std::ofstream(dir + "/meta.json") << meta.dump();
  return dir;
}

template <typename F>
void expect_data_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error, expected " << needle;
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TokenSplit, ShardsOfAnySizeReadAsTheOneFile) {
  for (const int vocab : {1000, 100'000}) {  // 2 and 4 bytes a token
    const std::vector<int32_t> tokens = ids(10'007, vocab);
    const TokenSplit one =
        TokenSplit::open(write_split("one", tokens, vocab, 1u << 30, 999), "train");
    EXPECT_TRUE(fs::exists(test::scratch("one/train.bin")));
    EXPECT_EQ(one.where(), test::scratch("one") + "/train.bin");
    for (const uint64_t shard : {7ul, 1000ul, 10'006ul, 10'007ul}) {
      const std::string dir = write_split("s" + std::to_string(shard), tokens, vocab, shard, 333);
      const TokenSplit split = TokenSplit::open(dir, "train");
      ASSERT_EQ(split.size(), tokens.size());
      EXPECT_EQ(split.vocab_size(), vocab);
      EXPECT_EQ(fs::exists(dir + "/train-00000.bin"), shard < tokens.size()) << shard;
      std::vector<uint32_t> all(tokens.size()), window(37);
      split.read(0, all.size(), all.data());
      EXPECT_TRUE(std::equal(all.begin(), all.end(), tokens.begin())) << shard;
      for (size_t start = 0; start + window.size() <= tokens.size(); start += 991) {
        split.read(start, window.size(), window.data());
        EXPECT_TRUE(std::equal(window.begin(), window.end(),
                               tokens.begin() + static_cast<std::ptrdiff_t>(start)))
            << "shard " << shard << ", start " << start;
      }
      // The sampler draws the same windows from either form.
      const Sampler a(one, 64, 8, 5), b(split, 64, 8, 5);
      std::vector<int32_t> in_a(8 * 64), tg_a(8 * 64), in_b(8 * 64), tg_b(8 * 64);
      a.fill(11, 0, 8, in_a.data(), tg_a.data());
      b.fill(11, 0, 8, in_b.data(), tg_b.data());
      EXPECT_EQ(in_a, in_b);
      EXPECT_EQ(tg_a, tg_b);
    }
  }
}

TEST(TokenSplit, DamagedMissingAndForeignShardsAreNamed) {
  const std::vector<int32_t> tokens = ids(5'000, 1000);
  const auto fresh = [&] { return write_split("bad", tokens, 1000, 2'000, 700); };
  std::string dir = fresh();
  fs::resize_file(dir + "/train-00001.bin", 1000);
  expect_data_error([&] { TokenSplit::open(dir, "train"); },
                    dir + "/train-00001.bin: truncated token file");
  dir = fresh();
  {
    std::fstream io(dir + "/train-00002.bin", std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(100);
    io.put('\x07');
  }
  expect_data_error([&] { TokenSplit::open(dir, "train"); },
                    dir + "/train-00002.bin: checksum mismatch");
  dir = fresh();
  fs::remove(dir + "/train-00002.bin");
  expect_data_error([&] { TokenSplit::open(dir, "train"); },
                    dir + "/train-00002.bin: cannot open token file");
  dir = fresh();
  fs::copy_file(dir + "/train-00000.bin", dir + "/train-00001.bin",
                fs::copy_options::overwrite_existing);
  expect_data_error([&] { TokenSplit::open(dir, "train"); },
                    dir + "/train-00001.bin: holds 2000 tokens with checksum");
  std::ofstream(dir + "/meta.json") << R"({"shards": {"train": [{"file": "../x.bin"}]}})";
  expect_data_error([&] { TokenSplit::open(dir, "train"); }, dir + "/meta.json: not a valid");
  // A corpus from before shards: NAME.bin alone.
  fs::remove(dir + "/meta.json");
  fs::rename(dir + "/train-00000.bin", dir + "/train.bin");
  EXPECT_EQ(TokenSplit::open(dir, "train").size(), 2'000u);
}

}  // namespace
}  // namespace parti::data
