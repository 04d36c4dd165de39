#include "parti/data/token_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "parti/core/check.h"

namespace parti::data {
namespace {

constexpr char kMagic[8] = {'P', 'A', 'R', 'T', 'I', 'T', 'O', 'K'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = kTokenHeaderBytes;

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

// The ids as stored: 2 or 4 little-endian bytes each.
template <typename Id>
std::vector<uint8_t> stored_bytes(const Id* tokens, size_t count, int width) {
  std::vector<uint8_t> out(count * static_cast<size_t>(width));
  for (size_t i = 0; i < count; ++i) {
    const auto id = static_cast<uint32_t>(tokens[i]);
    for (int b = 0; b < width; ++b) {
      out[i * static_cast<size_t>(width) + static_cast<size_t>(b)] =
          static_cast<uint8_t>(id >> (8 * b));
    }
  }
  return out;
}

std::vector<uint32_t> ids_from_bytes(const std::vector<uint8_t>& bytes, int width) {
  std::vector<uint32_t> out(bytes.size() / static_cast<size_t>(width));
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t v = 0;
    for (int b = 0; b < width; ++b) {
      v |= static_cast<uint32_t>(bytes[i * static_cast<size_t>(width) + static_cast<size_t>(b)])
           << (8 * b);
    }
    out[i] = v;
  }
  return out;
}

}  // namespace

int token_bytes_for(int vocab_size) { return vocab_size > 65536 ? 4 : 2; }

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t state) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = state;
  for (size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

TokenFileWriter::TokenFileWriter(std::string path, int vocab_size, int32_t eot)
    : path_(std::move(path)),
      tmp_(path_ + ".tmp"),
      vocab_size_(vocab_size),
      eot_(eot),
      width_(token_bytes_for(vocab_size)),
      checksum_(kFnvBasis) {
  errno = 0;
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  PARTI_CHECK(out_.good(), IoError, tmp_, ": cannot create: ", os_error(errno));
  const char zeros[kHeaderBytes] = {};
  out_.write(zeros, sizeof(zeros));  // the header, completed by close()
}

TokenFileWriter::~TokenFileWriter() = default;

void TokenFileWriter::append(const int32_t* ids, size_t count) {
  append_bytes(stored_bytes(ids, count, width_), count);
}

void TokenFileWriter::append(const uint32_t* ids, size_t count) {
  append_bytes(stored_bytes(ids, count, width_), count);
}

void TokenFileWriter::append_bytes(const std::vector<uint8_t>& bytes, size_t count) {
  PARTI_ASSERT(!closed_, tmp_, " appended to after close");
  checksum_ = fnv1a64(bytes.data(), bytes.size(), checksum_);
  count_ += count;
  errno = 0;
  out_.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  PARTI_CHECK(out_.good(), IoError, tmp_, ": write failed: ", os_error(errno));
}

void TokenFileWriter::close() {
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kVersion;
  header.vocab_size = static_cast<uint32_t>(vocab_size_);
  header.eot = static_cast<uint32_t>(eot_);
  header.token_bytes = static_cast<uint32_t>(width_);
  header.count = count_;
  header.checksum = checksum_;
  errno = 0;
  out_.seekp(0);
  out_.write(reinterpret_cast<const char*>(&header), sizeof(header));
  out_.flush();
  PARTI_CHECK(out_.good(), IoError, tmp_, ": write failed: ", os_error(errno));
  out_.close();
  closed_ = true;
  PARTI_CHECK(std::rename(tmp_.c_str(), path_.c_str()) == 0, IoError, tmp_, ": cannot rename to ",
              path_, ": ", os_error(errno));
}

void write_token_file(const std::string& path, const TokenFile& file) {
  TokenFileWriter writer(path, file.vocab_size, file.eot);
  writer.append(file.tokens.data(), file.tokens.size());
  writer.close();
}

TokenFileHeader check_token_header(const std::string& path, const void* bytes,
                                   uint64_t file_bytes) {
  PARTI_CHECK(file_bytes >= kHeaderBytes, DataError, path, ": truncated token file (", file_bytes,
              " bytes, the header alone is 64)");
  Header header{};
  std::memcpy(&header, bytes, sizeof(header));
  PARTI_CHECK(std::memcmp(header.magic, kMagic, sizeof(kMagic)) == 0, DataError, path,
              ": wrong header: not a Parti token file (magic is not PARTITOK)");
  PARTI_CHECK(header.version == kVersion, DataError, path, ": wrong header: format version ",
              header.version, ", expected ", kVersion);
  PARTI_CHECK(
      header.vocab_size > 0 && header.vocab_size < (1u << 31) && header.eot < header.vocab_size,
      DataError, path, ": wrong header: vocabulary ", header.vocab_size, ", EOT ", header.eot);
  const int width = token_bytes_for(static_cast<int>(header.vocab_size));
  PARTI_CHECK(header.token_bytes == static_cast<uint32_t>(width), DataError, path,
              ": wrong header: ", header.token_bytes, " bytes per token, expected ", width,
              " for a vocabulary of ", header.vocab_size);
  PARTI_CHECK(header.count <= (file_bytes - kHeaderBytes) / static_cast<uint64_t>(width) + 1,
              DataError, path, ": truncated token file: header says ", header.count,
              " tokens, file has ", file_bytes, " bytes");
  const uint64_t expected = kHeaderBytes + header.count * static_cast<uint64_t>(width);
  PARTI_CHECK(file_bytes == expected, DataError, path, ": truncated token file: header says ",
              header.count, " tokens (", expected, " bytes), file has ", file_bytes, " bytes");
  return {static_cast<int>(header.vocab_size), static_cast<int32_t>(header.eot), width,
          header.count, header.checksum};
}

void check_token_bytes(const std::string& path, const TokenFileHeader& header,
                       const uint8_t* bytes) {
  const size_t size = header.count * static_cast<size_t>(header.width);
  PARTI_CHECK(fnv1a64(bytes, size) == header.checksum, DataError, path,
              ": checksum mismatch (file corrupted)");
  const auto vocab = static_cast<uint32_t>(header.vocab_size);
  for (size_t i = 0; i < header.count; ++i) {
    uint32_t id = 0;
    for (int b = 0; b < header.width; ++b) {
      id |= static_cast<uint32_t>(
                bytes[i * static_cast<size_t>(header.width) + static_cast<size_t>(b)])
            << (8 * b);
    }
    PARTI_CHECK(id < vocab, DataError, path, ": token id ", id, " at position ", i,
                " is outside the vocabulary of ", vocab);
  }
}

TokenFile read_token_file(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  PARTI_CHECK(in.good(), DataError, path, ": cannot open token file: ", os_error(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  PARTI_CHECK(end >= 0, DataError, path, ": cannot read (a folder?): ", os_error(errno));
  const auto size = static_cast<uint64_t>(end);
  in.seekg(0);
  char head[kHeaderBytes] = {};
  in.read(head, static_cast<std::streamsize>(std::min<uint64_t>(size, kHeaderBytes)));
  const TokenFileHeader header = check_token_header(path, head, size);
  std::vector<uint8_t> bytes(size - kHeaderBytes);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  PARTI_CHECK(in.good(), DataError, path, ": read failed: ", os_error(errno));
  check_token_bytes(path, header, bytes.data());
  TokenFile file;
  file.vocab_size = header.vocab_size;
  file.eot = header.eot;
  file.tokens = ids_from_bytes(bytes, header.width);
  return file;
}

}  // namespace parti::data
