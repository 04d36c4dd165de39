#include "parti/io/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "parti/core/check.h"

namespace parti::io {
namespace {

std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("parti_st_" + name)).string();
}

TEST(Safetensors, RoundTripAndLayout) {
  const float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 0.5f};
  write_safetensors(temp("ok"), {{"x.weight", {2, 3}, a}, {"y", {2}, b}}, {{"format", "pt"}});
  std::ifstream in(temp("ok"), std::ios::binary);
  uint64_t length = 0;
  in.read(reinterpret_cast<char*>(&length), 8);
  EXPECT_EQ(length % 8, 0u) << "header padded to 8 bytes";
  EXPECT_EQ(std::filesystem::file_size(temp("ok")), 8 + length + 32);
  SafetensorsFile f = read_safetensors(temp("ok"));
  EXPECT_EQ(f.tensors.at("x.weight").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f.tensors.at("x.weight").data[5], 6.0f);
  EXPECT_EQ(f.tensors.at("y").data[1], 0.5f);
  EXPECT_EQ(f.metadata.at("format"), "pt");
}

TEST(Safetensors, DetectsTruncationAndCorruption) {
  const float a[4] = {1, 2, 3, 4};
  write_safetensors(temp("bad"), {{"x", {4}, a}}, {});
  const auto size = std::filesystem::file_size(temp("bad"));
  {
    std::fstream io(temp("bad"), std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(size - 3));
    io.put('\x11');
  }
  EXPECT_THROW(read_safetensors(temp("bad")), CheckpointError);
  std::filesystem::resize_file(temp("bad"), size - 4);
  EXPECT_THROW(read_safetensors(temp("bad")), CheckpointError);
  std::filesystem::resize_file(temp("bad"), 5);
  EXPECT_THROW(read_safetensors(temp("bad")), CheckpointError);
  EXPECT_THROW(read_safetensors(temp("absent")), CheckpointError);
}

}  // namespace
}  // namespace parti::io
