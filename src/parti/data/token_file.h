// Token files (train.bin, val.bin): a 64-byte little-endian header, then the token ids as uint16
// when the vocabulary has at most 65,536 ids (GPT-2's) and as uint32 above that (Llama 3's).
//   offset  0  char[8]  magic "PARTITOK"
//           8  uint32   format version (1)
//          12  uint32   vocabulary size V (every id < V)
//          16  uint32   end-of-text id (between documents)
//          20  uint32   bytes per token (2 or 4)
//          24  uint64   number of tokens
//          32  uint64   FNV-1a 64 of the token bytes (as stored)
//          40  zero padding to 64
// Loading checks all of it (size, magic, version, checksum, every id < V) and names the file.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace parti::data {

struct TokenFile {
  int vocab_size = 0;
  int32_t eot = 0;
  std::vector<uint32_t> tokens;  // in memory always 32-bit
};

// Bytes per stored token for a vocabulary of `vocab_size` ids.
int token_bytes_for(int vocab_size);

// Writes to `path.tmp`, flushes, renames over `path`.
void write_token_file(const std::string& path, const TokenFile& file);

// The same file written as it grows (corpus preparation streams): ids appended in order, the
// header (count, checksum) completed by close(), which renames path.tmp to path. A writer
// destroyed without close() leaves only path.tmp.
class TokenFileWriter {
 public:
  TokenFileWriter(std::string path, int vocab_size, int32_t eot);
  ~TokenFileWriter();
  TokenFileWriter(const TokenFileWriter&) = delete;
  TokenFileWriter& operator=(const TokenFileWriter&) = delete;
  void append(const int32_t* ids, size_t count);
  void append(const uint32_t* ids, size_t count);
  void close();
  uint64_t count() const { return count_; }
  uint64_t checksum() const { return checksum_; }  // of the token bytes so far

 private:
  void append_bytes(const std::vector<uint8_t>& bytes, size_t count);
  std::string path_, tmp_;
  int vocab_size_;
  int32_t eot_;
  int width_;
  uint64_t count_ = 0;
  uint64_t checksum_;
  bool closed_ = false;
  std::ofstream out_;
};
// Throws DataError naming the file and what is wrong.
TokenFile read_token_file(const std::string& path);

// What a token file's header says, checked against the file's size (memory-mapped reading,
// token_split.h, checks the rest with check_token_bytes).
struct TokenFileHeader {
  int vocab_size = 0;
  int32_t eot = 0;
  int width = 0;  // bytes per stored token
  uint64_t count = 0;
  uint64_t checksum = 0;
};
inline constexpr size_t kTokenHeaderBytes = 64;
// `header`: the file's first 64 bytes; `file_bytes`: its size. Throws DataError naming `path`.
TokenFileHeader check_token_header(const std::string& path, const void* header,
                                   uint64_t file_bytes);
// The stored ids after the header: their checksum and every id < V. Throws DataError naming
// `path` and, for an id, its position.
void check_token_bytes(const std::string& path, const TokenFileHeader& header,
                       const uint8_t* bytes);

inline constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ULL;
// FNV-1a 64 of the bytes; `state` continues a hash over earlier bytes (streaming).
uint64_t fnv1a64(const void* data, size_t bytes, uint64_t state = kFnvBasis);

}  // namespace parti::data
