#include "parti/data/pretokenize.h"

#include <algorithm>

#include "parti/data/unicode_tables.h"
#include "parti/data/utf8.h"

namespace parti::data {
namespace {

bool in_ranges(const std::vector<CodeRange>& ranges, uint32_t cp) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](uint32_t v, const CodeRange& r) { return v < r.first; });
  return it != ranges.begin() && cp <= std::prev(it)->last;
}

// Length of the piece starting at i (always >= 1).
size_t match_at(const std::vector<uint32_t>& s, size_t i) {
  const size_t n = s.size();
  if (s[i] == '\'' && i + 1 < n) {
    uint32_t a = s[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') {
      return 2;
    }
    if (i + 2 < n) {
      uint32_t b = s[i + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
        return 3;
      }
    }
  }
  const size_t j = s[i] == ' ' ? i + 1 : i;  // the optional leading space
  auto run = [&](auto&& pred) -> size_t {
    if (j >= n || !pred(s[j])) {
      return 0;
    }
    size_t k = j;
    while (k < n && pred(s[k])) {
      ++k;
    }
    return k - i;
  };
  if (size_t len = run(is_letter)) {
    return len;
  }
  if (size_t len = run(is_number)) {
    return len;
  }
  auto other = [](uint32_t cp) { return !is_space(cp) && !is_letter(cp) && !is_number(cp); };
  if (size_t len = run(other)) {
    return len;
  }
  // Whitespace: \s+(?!\S) leaves the last space to the next piece when a non-space follows.
  size_t k = i;
  while (k < n && is_space(s[k])) {
    ++k;
  }
  if (k < n && k - i >= 2) {
    return k - i - 1;
  }
  return k - i;
}

bool is_line_break(uint32_t cp) { return cp == '\r' || cp == '\n'; }
bool is_other(uint32_t cp) { return !is_space(cp) && !is_letter(cp) && !is_number(cp); }
uint32_t ascii_lower(uint32_t cp) { return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp; }

// Length of Llama 3's piece starting at i of s[.. n) (always >= 1): the first alternative of the
// pattern that matches, each with the backtracking a regex engine does.
size_t match_llama3_at(const std::vector<uint32_t>& s, size_t i, size_t n) {
  auto run_end = [&](size_t k, auto&& pred) {
    while (k < n && pred(s[k])) {
      ++k;
    }
    return k;
  };
  const uint32_t c = s[i];
  if (c == '\'' && i + 1 < n) {  // contractions, either case
    const uint32_t a = ascii_lower(s[i + 1]);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') {
      return 2;
    }
    const uint32_t b = i + 2 < n ? ascii_lower(s[i + 2]) : 0;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
      return 3;
    }
  }
  if (is_letter(c)) {  // [^\r\n\p{L}\p{N}]?\p{L}+ without the optional character
    return run_end(i, is_letter) - i;
  }
  if (!is_line_break(c) && !is_number(c) && i + 1 < n && is_letter(s[i + 1])) {
    return run_end(i + 1, is_letter) - i;  // ... with it
  }
  if (is_number(c)) {  // \p{N}{1,3}
    return std::min(run_end(i, is_number), i + 3) - i;
  }
  const size_t j = c == ' ' && i + 1 < n && is_other(s[i + 1]) ? i + 1 : i;
  if (is_other(s[j])) {  //  ?[^\s\p{L}\p{N}]+[\r\n]*
    return run_end(run_end(j, is_other), is_line_break) - i;
  }
  // c is whitespace. \s*[\r\n]+ ends after the last line break of the run of whitespace.
  const size_t w = run_end(i, is_space);
  for (size_t k = w; k > i; --k) {
    if (is_line_break(s[k - 1])) {
      return k - i;
    }
  }
  // \s+(?!\S) leaves the last space to the next piece when a non-space follows; else \s+.
  if (w < n && w - i >= 2) {
    return w - i - 1;
  }
  return w - i;
}

std::string utf8_of(const std::vector<uint32_t>& text, size_t first, size_t last) {
  std::string piece;
  for (size_t k = first; k < last; ++k) {
    utf8_append(piece, text[k]);
  }
  return piece;
}

}  // namespace

bool is_letter(uint32_t cp) { return in_ranges(letter_ranges(), cp); }
bool is_number(uint32_t cp) { return in_ranges(number_ranges(), cp); }
bool is_space(uint32_t cp) { return in_ranges(space_ranges(), cp); }

std::vector<std::string> pretokenize(const std::vector<uint32_t>& text) {
  std::vector<std::string> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t len = match_at(text, i);
    pieces.push_back(utf8_of(text, i, i + len));
    i += len;
  }
  return pieces;
}

std::vector<std::string> pretokenize_llama3(const std::vector<uint32_t>& text, size_t first,
                                            size_t last) {
  std::vector<std::string> pieces;
  for (size_t i = first; i < last;) {
    const size_t len = match_llama3_at(text, i, last);
    pieces.push_back(utf8_of(text, i, i + len));
    i += len;
  }
  return pieces;
}

}  // namespace parti::data
