// Unicode classes of GPT-2's pre-tokenizer pattern, as sorted, disjoint, inclusive code-point
// ranges: letters (\p{L}), numbers (\p{N}) and JavaScript's \s. Generated from Node's RegExp
// engine by scripts/gen-unicode-tables.js.
#pragma once

#include <cstdint>
#include <vector>

namespace parti::data {

struct CodeRange {
  uint32_t first;
  uint32_t last;
};

const std::vector<CodeRange>& letter_ranges();
const std::vector<CodeRange>& number_ranges();
const std::vector<CodeRange>& space_ranges();

}  // namespace parti::data
