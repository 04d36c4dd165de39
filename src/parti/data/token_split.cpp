#include "parti/data/token_split.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "parti/core/check.h"
#include "parti/core/file.h"
#include "parti/core/json.h"

namespace parti::data {
namespace {

std::string hex64(uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(v));
  return text;
}

// The shards meta.json lists for split `name`, or NAME.bin alone (tokens and checksum 0: not
// known) for a corpus without an index.
std::vector<ShardInfo> listed_shards(const std::string& dir, const std::string& name) {
  const std::string meta = dir + "/meta.json";
  if (std::filesystem::exists(meta)) {
    try {
      const nlohmann::json j = nlohmann::json::parse(core::read_file(meta));
      if (j.contains("shards")) {
        std::vector<ShardInfo> out;
        for (const nlohmann::json& s : j.at("shards").at(name)) {
          out.push_back({s.at("file").get<std::string>(), json_int<uint64_t>(s.at("tokens")),
                         std::stoull(s.at("checksum").get<std::string>(), nullptr, 16)});
          PARTI_CHECK(std::filesystem::path(out.back().file).filename() == out.back().file,
                      DataError, meta, ": shard ", out.back().file, " is not a file name");
        }
        PARTI_CHECK(!out.empty(), DataError, meta, ": no shards listed for ", name);
        return out;
      }
    } catch (const nlohmann::json::exception& e) {
      throw DataError(str_cat(meta, ": not a valid shard index: ", e.what()));
    } catch (const std::logic_error& e) {  // std::stoull
      throw DataError(str_cat(meta, ": not a valid shard checksum: ", e.what()));
    }
  }
  return {{name + ".bin", 0, 0}};
}

struct Mapped {
  std::shared_ptr<const void> mapping;
  const uint8_t* bytes = nullptr;
  TokenFileHeader header;
};

// A shard mapped and checked whole; its pages are dropped from this process afterwards (they
// come back from the page cache or the disk when read).
Mapped map_shard(const std::string& path) {
  errno = 0;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  PARTI_CHECK(fd >= 0, DataError, path, ": cannot open token file: ", os_error(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int error = errno;
    ::close(fd);
    throw DataError(str_cat(path, ": not a regular file: ", os_error(error)));
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* at = size > 0 ? ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  const int error = errno;
  ::close(fd);
  if (size < kTokenHeaderBytes) {
    if (at != MAP_FAILED) ::munmap(at, size);
    const char none[kTokenHeaderBytes] = {};
    check_token_header(path, none, size);  // throws: truncated
  }
  PARTI_CHECK(at != MAP_FAILED, IoError, path, ": cannot map: ", os_error(error));
  Mapped out;
  out.mapping = std::shared_ptr<const void>(at, [size](const void* p) {
    ::munmap(const_cast<void*>(p), size);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  });
  out.bytes = static_cast<const uint8_t*>(at) + kTokenHeaderBytes;
  out.header = check_token_header(path, at, size);
  check_token_bytes(path, out.header, out.bytes);
  ::madvise(at, size, MADV_DONTNEED);
  return out;
}

}  // namespace

TokenSplit::TokenSplit(const TokenFile& file)
    : size_(file.tokens.size()), vocab_size_(file.vocab_size), eot_(file.eot), where_("tokens") {
  pieces_.push_back(
      {reinterpret_cast<const uint8_t*>(file.tokens.data()), 4, 0, file.tokens.size()});
}

TokenSplit TokenSplit::open(const std::string& dir, const std::string& name) {
  const std::vector<ShardInfo> shards = listed_shards(dir, name);
  return of_shards(dir, shards,
                   shards.size() == 1
                       ? dir + "/" + shards[0].file
                       : str_cat(dir, "/", name, "-*.bin (", shards.size(), " shards)"));
}

TokenSplit TokenSplit::open_file(const std::string& path) {
  const std::filesystem::path file(path);
  return of_shards(file.parent_path().string(), {{file.filename().string(), 0, 0}}, path);
}

TokenSplit TokenSplit::of_shards(const std::string& dir, const std::vector<ShardInfo>& shards,
                                 std::string where) {
  TokenSplit split;
  split.where_ = std::move(where);
  for (const ShardInfo& shard : shards) {
    const std::string path = (std::filesystem::path(dir) / shard.file).string();
    Mapped m = map_shard(path);
    const bool indexed = shard.tokens != 0 || shard.checksum != 0;
    PARTI_CHECK(!indexed || (m.header.count == shard.tokens && m.header.checksum == shard.checksum),
                DataError, path, ": holds ", m.header.count, " tokens with checksum ",
                hex64(m.header.checksum), ", but ", dir, "/meta.json lists ", shard.tokens,
                " with ", hex64(shard.checksum), " (a shard from another corpus?)");
    if (split.pieces_.empty()) {
      split.vocab_size_ = m.header.vocab_size;
      split.eot_ = m.header.eot;
    }
    PARTI_CHECK(m.header.vocab_size == split.vocab_size_ && m.header.eot == split.eot_, DataError,
                path, ": vocabulary ", m.header.vocab_size, " and end-of-text ", m.header.eot,
                " differ from the split's first shard's (", split.vocab_size_, ", ", split.eot_,
                ")");
    split.pieces_.push_back({m.bytes, m.header.width, split.size_, m.header.count});
    split.mappings_.push_back(std::move(m.mapping));
    split.size_ += m.header.count;
  }
  return split;
}

void TokenSplit::read(size_t start, size_t count, uint32_t* out) const {
  PARTI_ASSERT(start + count <= size_, "tokens [", start, ", ", start + count, ") of ", size_);
  if (count == 0) return;
  auto piece = std::upper_bound(pieces_.begin(), pieces_.end(), start,
                                [](size_t p, const Piece& x) { return p < x.first; });
  --piece;
  while (count > 0) {
    const size_t at = start - piece->first;
    const size_t take = std::min(count, piece->count - at);
    const auto width = static_cast<size_t>(piece->width);
    for (size_t i = 0; i < take; ++i) {
      const uint8_t* b = piece->bytes + (at + i) * width;
      uint32_t id = 0;
      for (size_t k = 0; k < width; ++k) id |= static_cast<uint32_t>(b[k]) << (8 * k);
      out[i] = id;
    }
    out += take;
    start += take;
    count -= take;
    ++piece;
  }
}

TokenSplitWriter::TokenSplitWriter(std::string dir, std::string name, int vocab_size, int32_t eot,
                                   uint64_t shard_tokens)
    : dir_(std::move(dir)),
      name_(std::move(name)),
      vocab_size_(vocab_size),
      eot_(eot),
      shard_tokens_(shard_tokens) {
  PARTI_CHECK(shard_tokens > 0, ConfigError, "--shard-tokens must be positive");
  current_ = std::make_unique<TokenFileWriter>(dir_ + "/" + name_ + ".bin", vocab_size_, eot_);
}

std::string TokenSplitWriter::shard_path(size_t index) const {
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "-%05zu.bin", index);
  return dir_ + "/" + name_ + suffix;
}

// The first shard is written as NAME.bin (a split of one shard is today's single file) and
// renamed NAME-00000.bin when a second one starts.
void TokenSplitWriter::finish_shard() {
  current_->close();
  const std::string file = sharded_
                               ? std::filesystem::path(shard_path(done_.size())).filename().string()
                               : name_ + ".bin";
  done_.push_back({file, current_->count(), current_->checksum()});
  current_.reset();
}

void TokenSplitWriter::append(const int32_t* ids, size_t count) {
  while (count > 0) {
    if (current_->count() == shard_tokens_) {
      sharded_ = true;
      finish_shard();
      if (done_.size() == 1) {
        const std::string single = dir_ + "/" + name_ + ".bin", first = shard_path(0);
        PARTI_CHECK(std::rename(single.c_str(), first.c_str()) == 0, IoError, single,
                    ": cannot rename to ", first, ": ", os_error(errno));
      }
      current_ = std::make_unique<TokenFileWriter>(shard_path(done_.size()), vocab_size_, eot_);
    }
    const size_t take = std::min<uint64_t>(count, shard_tokens_ - current_->count());
    current_->append(ids, take);
    ids += take;
    count -= take;
  }
}

std::vector<ShardInfo> TokenSplitWriter::close() {
  finish_shard();
  return done_;
}

nlohmann::ordered_json shard_index(const std::vector<ShardInfo>& shards) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const ShardInfo& s : shards) {
    out.push_back({{"file", s.file}, {"tokens", s.tokens}, {"checksum", hex64(s.checksum)}});
  }
  return out;
}

}  // namespace parti::data
