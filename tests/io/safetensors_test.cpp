#include "parti/io/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "parti/core/check.h"
#include "support/scratch.h"

namespace parti::io {
namespace {

std::string temp(const std::string& name) { return test::scratch(name); }

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

// A file as another tool would write it: `header` as given, then `data_bytes` zero bytes.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t length = header.size();
  out.write(reinterpret_cast<const char*>(&length), 8);
  out << header << std::string(data_bytes, '\0');
}

std::string message(const std::string& path) {
  try {
    read_safetensors(path);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Safetensors, DataOffsetsMustTileTheDataSection) {
  const std::string path = temp("offsets");
  write_raw(path,
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
            16);
  EXPECT_EQ(message(path), "no error");
  write_raw(path,
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            12);
  EXPECT_NE(message(path).find("tensor b starts at byte 4 of the data section, where 8 was "
                               "expected (overlapping or gapped data_offsets)"),
            std::string::npos)
      << message(path);
  write_raw(path, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
  EXPECT_NE(message(path).find("tensor a starts at byte 4"), std::string::npos) << message(path);
}

TEST(Safetensors, PartiFilesMustCarryTheirChecksum) {
  const float a[2] = {1, 2};
  const std::string path = temp("nosum");
  write_safetensors(path, {{"x", {2}, a}}, {{"format", "pt"}, {"step", "7"}});
  EXPECT_EQ(message(path), "no error");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t key = bytes.find("parti_fnv1a64");
  ASSERT_NE(key, std::string::npos);
  bytes[key] = 'q';  // the same length: only the checksum is gone
  std::ofstream(path, std::ios::binary) << bytes;
  EXPECT_NE(message(path).find("written by Parti (metadata step 7) but without its parti_fnv1a64 "
                               "checksum: altered"),
            std::string::npos)
      << message(path);
}

// What the fuzz target (tests/fuzz/safetensors_fuzz.cpp) found escaping as JSON library errors
// or wrapping sizes: each is now a CheckpointError naming the file and the tensor.
TEST(Safetensors, MalformedDescriptionsAreNamed) {
  const std::string path = temp("malformed");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"a":{"dtype":"F32","shape":[1]}})", "tensor a: [json.exception.out_of_range.403]"},
      {R"({"a":5})", "tensor a is not described by a JSON object"},
      {R"({"a":{"dtype":"F32","shape":[-1,-1],"data_offsets":[0,4]}})",
       "tensor a has an impossible shape (size -1)"},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
       "tensor a has an impossible shape"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})",
       "tensor a has inconsistent offsets"},
      {R"({"__metadata__":{"step":7}})", "__metadata__ step is not a string"},
      {R"([1,2])", "corrupted header: not a JSON object of tensors"},
  };
  for (const auto& [header, needle] : cases) {
    SCOPED_TRACE(header);
    write_raw(path, header, 4);
    EXPECT_EQ(message(path).rfind(path + ": ", 0), 0u) << message(path);
    EXPECT_NE(message(path).find(needle), std::string::npos) << message(path);
  }
}

// Hugging Face checkpoints in half precision (train --init-from): F16 and BF16 read as the floats
// they are, F16's subnormals, infinities and largest value included; names with a model class's
// prefix read without it.
TEST(Safetensors, HalfPrecisionReadsExactlyAndPrefixesStrip) {
  const std::string path = temp("half");
  const uint16_t f16[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0x3800, 0x8000};
  const float f16_values[] = {1.0f,          -2.0f,         65504.0f,
                              5.9604645e-8f, 6.0975552e-5f, std::numeric_limits<float>::infinity(),
                              0.5f,          -0.0f};
  const uint16_t bf16[] = {0x3F80, 0xC040};
  const std::string header =
      R"({"transformer.h.0.w":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]},)"
      R"("lm_head.weight":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]}})";
  {
    std::ofstream out(path, std::ios::binary);
    const uint64_t length = header.size();
    out.write(reinterpret_cast<const char*>(&length), 8);
    out << header;
    out.write(reinterpret_cast<const char*>(f16), sizeof(f16));
    out.write(reinterpret_cast<const char*>(bf16), sizeof(bf16));
  }
  SafetensorsReader reader(path);
  reader.strip_prefix("transformer.");
  reader.expect_shape("h.0.w", {2, 4});
  float got[8];
  reader.read("h.0.w", 0, got, 8);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(got[i], f16_values[i]) << i;
    EXPECT_EQ(std::signbit(got[i]), std::signbit(f16_values[i])) << i;
  }
  reader.read("lm_head.weight", 1, got, 1);
  EXPECT_EQ(got[0], -3.0f);
  EXPECT_EQ(read_safetensors(path).tensors.at("lm_head.weight").data, (std::vector<float>{1, -3}));
  write_raw(path, R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8);
  EXPECT_NE(message(path).find("tensor a has dtype I64, only F32, F16 and BF16 are read"),
            std::string::npos)
      << message(path);
}

}  // namespace
}  // namespace parti::io
