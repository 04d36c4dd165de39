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

}  // namespace

bool is_letter(uint32_t cp) { return in_ranges(letter_ranges(), cp); }
bool is_number(uint32_t cp) { return in_ranges(number_ranges(), cp); }
bool is_space(uint32_t cp) { return in_ranges(space_ranges(), cp); }

std::vector<std::string> pretokenize(const std::vector<uint32_t>& text) {
  std::vector<std::string> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t len = match_at(text, i);
    std::string piece;
    for (size_t k = i; k < i + len; ++k) {
      utf8_append(piece, text[k]);
    }
    pieces.push_back(std::move(piece));
    i += len;
  }
  return pieces;
}

}  // namespace parti::data
