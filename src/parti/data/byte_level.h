// What byte-level BPE vocabularies (GPT-2's, Llama 3's) share: tokens are written in GPT-2's
// alphabet of printable stand-ins, one character per byte, so that files hold no control bytes.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace parti::data {

// GPT-2's bytes_to_unicode, inverted: code point of the printable stand-in -> byte.
const std::unordered_map<uint32_t, uint8_t>& unicode_to_byte();
// A token as written in a vocabulary file -> its raw bytes; DataError naming `file` otherwise.
std::string to_bytes(const std::string& encoded, const std::string& file);
// The whole file; DataError naming it (and how to get it) when it cannot be opened.
std::string read_vocabulary_file(const std::string& path);

}  // namespace parti::data
