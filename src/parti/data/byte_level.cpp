#include "parti/data/byte_level.h"

#include <fstream>
#include <sstream>

#include "parti/core/check.h"
#include "parti/core/file.h"
#include "parti/data/utf8.h"

namespace parti::data {

const std::unordered_map<uint32_t, uint8_t>& unicode_to_byte() {
  static const std::unordered_map<uint32_t, uint8_t> table = [] {
    std::unordered_map<uint32_t, uint8_t> t;
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[printable ? b : 256 + extra++] = static_cast<uint8_t>(b);
    }
    return t;
  }();
  return table;
}

std::string to_bytes(const std::string& encoded, const std::string& file) {
  const auto& map = unicode_to_byte();
  std::string out;
  for (uint32_t cp : utf8_decode(encoded)) {
    auto it = map.find(cp);
    PARTI_CHECK(it != map.end(), DataError, file, ": symbol ", encoded,
                " is not in the byte-level alphabet");
    out.push_back(static_cast<char>(it->second));
  }
  return out;
}

std::string read_vocabulary_file(const std::string& path) {
  try {
    return core::read_file(path);
  } catch (const IoError& e) {
    throw DataError(str_cat(e.what(),
                            " (a tokenizer vocabulary; run scripts/ensure-deps or pass "
                            "--tokenizer-dir)"));
  }
}

std::string concatenate_tokens(const std::vector<std::string>& id_to_bytes,
                               const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    PARTI_CHECK(id >= 0 && static_cast<size_t>(id) < id_to_bytes.size(), DataError, "token id ", id,
                " is outside the vocabulary of ", id_to_bytes.size());
    out += id_to_bytes[static_cast<size_t>(id)];
  }
  return out;
}

}  // namespace parti::data
