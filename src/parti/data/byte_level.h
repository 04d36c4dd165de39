// What byte-level BPE vocabularies (GPT-2's, Llama 3's) share: tokens are written in GPT-2's
// alphabet of printable stand-ins, one character per byte, so that files hold no control bytes.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace parti::data {

// GPT-2's bytes_to_unicode, inverted: code point of the printable stand-in -> byte.
const std::unordered_map<uint32_t, uint8_t>& unicode_to_byte();
// A token as written in a vocabulary file -> its raw bytes; DataError naming `file` otherwise.
std::string to_bytes(const std::string& encoded, const std::string& file);
// The whole file; DataError naming it (and how to get it) when it cannot be opened.
std::string read_vocabulary_file(const std::string& path);
// The bytes of the tokens `ids` (decode); DataError for an id outside the vocabulary.
std::string concatenate_tokens(const std::vector<std::string>& id_to_bytes,
                               const std::vector<int32_t>& ids);

}  // namespace parti::data
