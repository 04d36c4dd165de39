// A split of a prepared corpus (train or val) as one sequence of tokens, read in place: its
// shards (token files, token_file.h) memory-mapped and taken in order, so a corpus larger than
// memory trains and the sharded form of a corpus reads exactly as its one-file form.
//
//   DIR/meta.json  "shards": {"train": [{"file": "train-00000.bin", "tokens": N0,
//                                        "checksum": "<FNV-1a 64, hex>"}, ...], "val": [...]}
//   split position p  ->  shard k with first_k <= p < first_k + N_k, id at p - first_k
//
// A corpus from before shards (no "shards" in meta.json, or no meta.json) is DIR/NAME.bin alone.
// Opening checks every shard whole (header, size, checksum, every id < V) against its file and
// against the index, and names the shard that fails.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parti/data/token_file.h"

namespace parti::data {

struct ShardInfo {
  std::string file;  // name inside the corpus folder
  uint64_t tokens = 0;
  uint64_t checksum = 0;
};

class TokenSplit {
 public:
  TokenSplit() = default;
  // A view of tokens held in memory (`file` must outlive it): tests and `parti eval --tokens`.
  TokenSplit(const TokenFile& file);  // NOLINT(google-explicit-constructor): a file is a split
  // Split `name` ("train" or "val") of the corpus in `dir`.
  static TokenSplit open(const std::string& dir, const std::string& name);
  // One token file (`parti eval --tokens`), mapped and checked the same way.
  static TokenSplit open_file(const std::string& path);

  size_t size() const { return size_; }
  int vocab_size() const { return vocab_size_; }
  int32_t eot() const { return eot_; }
  const std::string& where() const { return where_; }  // for messages: the file or the shards
  // Tokens [start, start + count) into `out`, across shard boundaries.
  void read(size_t start, size_t count, uint32_t* out) const;

 private:
  // The shards (index entries; tokens and checksum 0: not indexed) of folder `dir`, mapped and
  // checked in order; `where` names them in messages.
  static TokenSplit of_shards(const std::string& dir, const std::vector<ShardInfo>& shards,
                              std::string where);
  struct Piece {
    const uint8_t* bytes = nullptr;  // the stored ids
    int width = 4;                   // bytes per id
    size_t first = 0;                // split position of its first token
    size_t count = 0;
  };
  std::vector<Piece> pieces_;
  std::vector<std::shared_ptr<const void>> mappings_;  // keep the shards mapped
  size_t size_ = 0;
  int vocab_size_ = 0;
  int32_t eot_ = 0;
  std::string where_;
};

// A split written as it grows, in shards of `shard_tokens` tokens: NAME.bin when the split fits
// in one, else NAME-00000.bin, NAME-00001.bin, ... (a token file each, token_file.h). close()
// returns the shards for meta.json's index.
class TokenSplitWriter {
 public:
  TokenSplitWriter(std::string dir, std::string name, int vocab_size, int32_t eot,
                   uint64_t shard_tokens);
  void append(const int32_t* ids, size_t count);
  std::vector<ShardInfo> close();

 private:
  std::string shard_path(size_t index) const;
  void finish_shard();
  std::string dir_, name_;
  int vocab_size_;
  int32_t eot_;
  uint64_t shard_tokens_;
  std::vector<ShardInfo> done_;
  std::unique_ptr<TokenFileWriter> current_;
  bool sharded_ = false;  // more than one shard: all named NAME-<index>.bin
};

// meta.json's "shards" entry for one split.
nlohmann::ordered_json shard_index(const std::vector<ShardInfo>& shards);

}  // namespace parti::data
