// UTF-8 decoding with the WHATWG Encoding Standard's replacement rule: each maximal invalid
// subpart of the input becomes one U+FFFD (what TextDecoder('utf-8') and Node do). This is
// Parti's documented rule for invalid UTF-8 reaching the tokenizer: text is tokenized as if it
// had been decoded that way, so decode(encode(x)) == x holds for valid UTF-8 only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parti::data {

constexpr uint32_t kReplacementChar = 0xFFFD;

std::vector<uint32_t> utf8_decode(std::string_view bytes);
void utf8_append(std::string& out, uint32_t code_point);

}  // namespace parti::data
