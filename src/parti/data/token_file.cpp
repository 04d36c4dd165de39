#include "parti/data/token_file.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "parti/core/check.h"

namespace parti::data {
namespace {

constexpr char kMagic[8] = {'P', 'A', 'R', 'T', 'I', 'T', 'O', 'K'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 64;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t vocab_size;
  uint32_t eot;
  uint32_t token_bytes;
  uint64_t count;
  uint64_t checksum;
  char padding[24];
};
static_assert(sizeof(Header) == kHeaderBytes);

}  // namespace

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t state) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = state;
  for (size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

void write_token_file(const std::string& path, const TokenFile& file) {
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kVersion;
  header.vocab_size = static_cast<uint32_t>(file.vocab_size);
  header.eot = static_cast<uint32_t>(file.eot);
  header.token_bytes = 2;
  header.count = file.tokens.size();
  header.checksum = fnv1a64(file.tokens.data(), file.tokens.size() * sizeof(uint16_t));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    PARTI_CHECK(out.good(), DataError, tmp, ": cannot create");
    out.write(reinterpret_cast<const char*>(&header), sizeof(header));
    out.write(reinterpret_cast<const char*>(file.tokens.data()),
              static_cast<std::streamsize>(file.tokens.size() * sizeof(uint16_t)));
    out.flush();
    PARTI_CHECK(out.good(), DataError, tmp, ": write failed");
  }
  std::filesystem::rename(tmp, path);
}

TokenFile read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PARTI_CHECK(in.good(), DataError, path, ": cannot open token file");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  PARTI_CHECK(size >= kHeaderBytes, DataError, path, ": truncated token file (", size,
              " bytes, the header alone is 64)");
  Header header{};
  in.read(reinterpret_cast<char*>(&header), sizeof(header));
  PARTI_CHECK(std::memcmp(header.magic, kMagic, sizeof(kMagic)) == 0, DataError, path,
              ": wrong header: not a Parti token file (magic is not PARTITOK)");
  PARTI_CHECK(header.version == kVersion, DataError, path, ": wrong header: format version ",
              header.version, ", expected ", kVersion);
  PARTI_CHECK(header.token_bytes == 2, DataError, path, ": wrong header: ", header.token_bytes,
              " bytes per token, expected 2");
  PARTI_CHECK(header.vocab_size > 0 && header.vocab_size <= 65536 && header.eot < header.vocab_size,
              DataError, path, ": wrong header: vocabulary ", header.vocab_size, ", EOT ",
              header.eot);
  const uint64_t expected = kHeaderBytes + header.count * 2;
  PARTI_CHECK(size == expected, DataError, path, ": truncated token file: header says ",
              header.count, " tokens (", expected, " bytes), file has ", size, " bytes");
  TokenFile file;
  file.vocab_size = static_cast<int>(header.vocab_size);
  file.eot = static_cast<int32_t>(header.eot);
  file.tokens.resize(header.count);
  in.read(reinterpret_cast<char*>(file.tokens.data()),
          static_cast<std::streamsize>(header.count * 2));
  PARTI_CHECK(in.good(), DataError, path, ": read failed");
  PARTI_CHECK(fnv1a64(file.tokens.data(), header.count * 2) == header.checksum, DataError, path,
              ": checksum mismatch (file corrupted)");
  for (size_t i = 0; i < file.tokens.size(); ++i) {
    PARTI_CHECK(file.tokens[i] < header.vocab_size, DataError, path, ": token id ", file.tokens[i],
                " at position ", i, " is outside the vocabulary of ", header.vocab_size);
  }
  return file;
}

}  // namespace parti::data
