#include "parti/data/llama3_tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "parti/core/check.h"
#include "parti/core/json.h"
#include "parti/data/byte_level.h"
#include "parti/data/pretokenize.h"
#include "parti/data/utf8.h"

namespace parti::data {
namespace {

constexpr int kTokens = 128256;

uint64_t pair_key(int32_t left, int32_t right) {
  return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
}

// The symbols of one piece while it merges: a doubly linked list whose nodes are never changed
// in place once queued (a node whose pair changes is replaced by a copy), and the package's
// binary min-heap of nodes by priority, with its exact sift rules so that equal priorities leave
// in the same order.
struct Symbol {
  int pos;  // byte position of the symbol's first byte in the piece
  int32_t id;
  int prev;
  int next;
  bool deleted = false;
  double priority = 0.0;
  int32_t result = -1;  // the merge of this symbol with the next
};

class MergeQueue {
 public:
  explicit MergeQueue(const std::vector<Symbol>& symbols) : symbols_(symbols) {}
  bool empty() const { return heap_.empty(); }
  void push(int node) {
    heap_.push_back(node);
    for (size_t i = heap_.size() - 1; i > 0 && before(i, parent(i)); i = parent(i)) {
      std::swap(heap_[i], heap_[parent(i)]);
    }
  }
  int pop() {
    const int top = heap_[0];
    if (heap_.size() > 1) {
      std::swap(heap_[0], heap_.back());
    }
    heap_.pop_back();
    size_t i = 0;
    while (true) {
      const size_t l = 2 * i + 1, r = 2 * i + 2, n = heap_.size();
      if (!((l < n && before(l, i)) || (r < n && before(r, i)))) {
        break;
      }
      const size_t child = r < n && before(r, l) ? r : l;
      std::swap(heap_[i], heap_[child]);
      i = child;
    }
    return top;
  }

 private:
  static size_t parent(size_t i) { return ((i + 1) >> 1) - 1; }
  bool before(size_t a, size_t b) const {
    return symbols_[static_cast<size_t>(heap_[a])].priority <
           symbols_[static_cast<size_t>(heap_[b])].priority;
  }
  const std::vector<Symbol>& symbols_;
  std::vector<int> heap_;
};

nlohmann::json parse_tokenizer_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_vocabulary_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(str_cat(path, ": not valid JSON: ", e.what()));
  }
}

// A merge as tokenizer.json writes it: "a b" or ["a", "b"].
std::pair<std::string, std::string> merge_pair(const nlohmann::json& m, const std::string& path) {
  if (m.is_array() && m.size() == 2) {
    return {m[0].get<std::string>(), m[1].get<std::string>()};
  }
  const std::string s = m.get<std::string>();
  const size_t space = s.find(' ');
  PARTI_CHECK(space != std::string::npos && space > 0 && space + 1 < s.size(), DataError, path,
              ": merge \"", s, "\" is not two tokens separated by a space");
  return {s.substr(0, space), s.substr(space + 1)};
}

}  // namespace

Llama3Tokenizer::Llama3Tokenizer(const std::string& dir) {
  const std::string path = dir + "/tokenizer.json";
  const nlohmann::json json = parse_tokenizer_json(path);
  try {
    id_to_bytes_.assign(kTokens, std::string());
    std::vector<bool> seen(kTokens, false);
    auto define = [&](int32_t id, std::string bytes) {
      PARTI_CHECK(id >= 0 && id < kTokens && !seen[static_cast<size_t>(id)], DataError, path,
                  ": token id ", id, " is repeated or outside 0..", kTokens - 1);
      seen[static_cast<size_t>(id)] = true;
      bytes_to_id_[bytes] = id;
      id_to_bytes_[static_cast<size_t>(id)] = std::move(bytes);
    };
    std::unordered_map<std::string, int32_t> by_written;  // token as written -> id
    for (const auto& [token, id] : json.at("model").at("vocab").items()) {
      define(json_int<int32_t>(id), to_bytes(token, path));
      by_written[token] = json_int<int32_t>(id);
    }
    for (const nlohmann::json& added : json.at("added_tokens")) {
      const auto id = json_int<int32_t>(added.at("id"));
      const auto content = added.at("content").get<std::string>();
      define(id, content);
      specials_[content] = id;
    }
    PARTI_CHECK(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }), DataError, path,
                ": the vocabulary does not define all ", kTokens, " ids of Llama 3");
    for (int b = 0; b < 256; ++b) {
      auto it = bytes_to_id_.find(std::string(1, static_cast<char>(b)));
      PARTI_CHECK(it != bytes_to_id_.end(), DataError, path, ": byte ", b, " has no token");
      byte_id_[static_cast<size_t>(b)] = it->second;
    }
    int priority = 1;
    for (const nlohmann::json& m : json.at("model").at("merges")) {
      const auto [left, right] = merge_pair(m, path);
      auto l = by_written.find(left), r = by_written.find(right);
      auto result = by_written.find(left + right);
      PARTI_CHECK(l != by_written.end() && r != by_written.end() && result != by_written.end(),
                  DataError, path, ": merge ", left, " ", right, " uses or makes an unknown token");
      merges_[pair_key(l->second, r->second)] = {priority, result->second};
      priority += 2;
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError(str_cat(path, ": not a tokenizer.json of Llama 3: ", e.what()));
  }
  auto special = [&](const std::string& name) {
    auto it = specials_.find(name);
    PARTI_CHECK(it != specials_.end(), DataError, path, ": no ", name, " token");
    return it->second;
  };
  bos_ = special("<|begin_of_text|>");
  eot_ = special("<|end_of_text|>");
}

size_t Llama3Tokenizer::special_at(const std::vector<uint32_t>& text, size_t i, int32_t& id) const {
  if (text[i] != '<' || i + 1 >= text.size() || text[i + 1] != '|') {
    return 0;
  }
  std::string name = "<|";
  for (size_t k = i + 2; k < text.size() && text[k] < 128 && name.size() < 64; ++k) {
    name.push_back(static_cast<char>(text[k]));
    if (text[k] == '>' && text[k - 1] == '|') {
      auto it = specials_.find(name);
      if (it == specials_.end()) {
        return 0;
      }
      id = it->second;
      return k + 1 - i;
    }
  }
  return 0;
}

std::vector<int32_t> Llama3Tokenizer::encode(std::string_view text) const {
  const std::vector<uint32_t> cps = utf8_decode(text);
  double units = 0;  // the text's length in UTF-16 code units, as JavaScript counts it
  for (uint32_t cp : cps) {
    units += cp > 0xFFFF ? 2 : 1;
  }
  std::vector<int32_t> ids;
  auto encode_stretch = [&](size_t first, size_t last) {
    for (const std::string& piece : pretokenize_llama3(cps, first, last)) {
      auto whole = bytes_to_id_.find(piece);
      if (whole != bytes_to_id_.end()) {
        ids.push_back(whole->second);
      } else {
        bpe(piece, units, ids);
      }
    }
  };
  size_t start = 0;
  for (size_t i = 0; i < cps.size();) {
    int32_t id = -1;
    if (const size_t len = special_at(cps, i, id)) {
      encode_stretch(start, i);
      ids.push_back(id);
      i += len;
      start = i;
    } else {
      ++i;
    }
  }
  encode_stretch(start, cps.size());
  return ids;
}

void Llama3Tokenizer::bpe(const std::string& piece, double text_units,
                          std::vector<int32_t>& out) const {
  // With fewer than 2L + 1 bytes the order is Hugging Face's, whatever L: the result can be kept.
  const bool keep = static_cast<double>(piece.size()) - 1.0 < 2.0 * text_units;
  if (keep) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const int n = static_cast<int>(piece.size());
  std::vector<Symbol> symbols;
  symbols.reserve(static_cast<size_t>(3 * n));
  for (int i = 0; i < n; ++i) {
    symbols.push_back({i, byte_id_[static_cast<uint8_t>(piece[static_cast<size_t>(i)])], i - 1,
                       i + 1 < n ? i + 1 : -1});
  }
  MergeQueue queue(symbols);
  auto at = [&](int i) -> Symbol& { return symbols[static_cast<size_t>(i)]; };
  auto offer = [&](int left) {  // queue the pair (left, left.next) when it merges
    auto it = merges_.find(pair_key(at(left).id, at(at(left).next).id));
    if (it != merges_.end()) {
      at(left).priority = it->second.priority + at(left).pos / text_units;
      at(left).result = it->second.result;
      queue.push(left);
    }
  };
  for (int i = 0; i + 1 < n; ++i) {
    offer(i);
  }
  int first = 0;
  while (!queue.empty()) {
    const int left = queue.pop();
    if (at(left).deleted || at(left).next < 0 || at(at(left).next).deleted) {
      continue;
    }
    const int right = at(left).next;
    at(left).deleted = at(right).deleted = true;
    int prev = at(left).prev;
    if (prev >= 0) {  // the symbol before gets a new pair: replace it by a copy
      at(prev).deleted = true;
      Symbol copy = at(prev);
      copy.deleted = false;
      symbols.push_back(copy);
      prev = static_cast<int>(symbols.size()) - 1;
      (at(prev).prev >= 0 ? at(at(prev).prev).next : first) = prev;
    }
    symbols.push_back({at(left).pos, at(left).result, prev, at(right).next});
    const int merged = static_cast<int>(symbols.size()) - 1;
    if (prev >= 0) {
      at(prev).next = merged;
      offer(prev);
    } else {
      first = merged;
    }
    if (at(merged).next >= 0) {
      at(at(merged).next).prev = merged;
      offer(merged);
    }
  }
  std::vector<int32_t> ids;
  for (int s = first; s >= 0; s = at(s).next) {
    ids.push_back(at(s).id);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  if (keep) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    cache_.emplace(piece, std::move(ids));
  }
}

std::string Llama3Tokenizer::decode(const std::vector<int32_t>& ids) const {
  return concatenate_tokens(id_to_bytes_, ids);
}

}  // namespace parti::data
