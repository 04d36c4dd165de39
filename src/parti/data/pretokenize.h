// GPT-2's pre-tokenizer: splits text into the pieces BPE merges within, by the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (alternatives tried in order at each position, as a backtracking regex engine does; \s as in
// JavaScript, since the reference is the npm gpt-3-encoder package). Written by hand so no regex
// library with its own Unicode tables is involved.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parti::data {

bool is_letter(uint32_t cp);
bool is_number(uint32_t cp);
bool is_space(uint32_t cp);

// Returns the pieces as UTF-8 strings; their concatenation is the (decoded) input.
std::vector<std::string> pretokenize(const std::vector<uint32_t>& text);

// Llama 3's pre-tokenizer, as the npm llama3-tokenizer-js package runs it in JavaScript:
//   '(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// over text[first, last) (a stretch between special tokens: its end is the end of the string).
std::vector<std::string> pretokenize_llama3(const std::vector<uint32_t>& text, size_t first,
                                            size_t last);

}  // namespace parti::data
