#include "parti/data/bpe_tokenizer.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "parti/core/check.h"
#include "parti/core/json.h"
#include "parti/data/byte_level.h"
#include "parti/data/pretokenize.h"
#include "parti/data/utf8.h"

namespace parti::data {

BpeTokenizer::BpeTokenizer(const std::string& dir) {
  const std::string encoder_path = dir + "/encoder.json";
  nlohmann::json encoder;
  try {
    encoder = nlohmann::json::parse(read_vocabulary_file(encoder_path));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(str_cat(encoder_path, ": not valid JSON: ", e.what()));
  }
  id_to_bytes_.resize(encoder.size());
  for (const auto& [key, value] : encoder.items()) {
    const auto id = json_int<int32_t>(value);
    PARTI_CHECK(id >= 0 && static_cast<size_t>(id) < encoder.size(), DataError, encoder_path,
                ": id ", id, " out of range");
    if (key == "<|endoftext|>") {
      eot_ = id;
      id_to_bytes_[static_cast<size_t>(id)] = key;
      continue;
    }
    std::string bytes = to_bytes(key, encoder_path);
    id_to_bytes_[static_cast<size_t>(id)] = bytes;
    bytes_to_id_[bytes] = id;
  }
  PARTI_CHECK(eot_ >= 0, DataError, encoder_path, ": no <|endoftext|> token");
  const std::string bpe_path = dir + "/vocab.bpe";
  std::istringstream lines(read_vocabulary_file(bpe_path));
  std::string line;
  std::getline(lines, line);  // "#version: 0.2"
  int rank = 0;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string first, second;
    if (!(fields >> first >> second)) {
      continue;
    }
    // As the package does: the key is the pair joined by a comma; a later merge with the same
    // key overwrites an earlier one.
    ranks_[to_bytes(first, bpe_path) + "," + to_bytes(second, bpe_path)] = rank++;
  }
  PARTI_CHECK(rank > 0, DataError, bpe_path, ": no merges");
}

void BpeTokenizer::bpe(const std::string& piece, std::vector<int32_t>& out) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::string> word;
  for (char c : piece) {
    word.emplace_back(1, c);
  }
  while (word.size() > 1) {
    // The lowest-ranked pair; among equal ranks the last one (the package keeps the last pair it
    // saw for each rank).
    int best = std::numeric_limits<int>::max();
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks_.find(word[i] + "," + word[i + 1]);
      if (it != ranks_.end() && it->second <= best) {
        best = it->second;
        best_at = i;
      }
    }
    if (best == std::numeric_limits<int>::max()) {
      break;
    }
    const std::string first = word[best_at];
    const std::string second = word[best_at + 1];
    std::vector<std::string> merged;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(word[i]);
        ++i;
      }
    }
    word = std::move(merged);
  }
  std::vector<int32_t> ids;
  for (const std::string& symbol : word) {
    auto it = bytes_to_id_.find(symbol);
    PARTI_ASSERT(it != bytes_to_id_.end(), "BPE produced a symbol outside the vocabulary");
    ids.push_back(it->second);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.emplace(piece, std::move(ids));
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  for (const std::string& piece : pretokenize(utf8_decode(text))) {
    bpe(piece, ids);
  }
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  return concatenate_tokens(id_to_bytes_, ids);
}

}  // namespace parti::data
