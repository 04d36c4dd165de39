#include "parti/data/blend.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "parti/core/check.h"

namespace parti::data {
namespace {

// "W" as a weight: a whole number or a decimal, positive and finite; false when it is not one.
bool parse_weight(const std::string& text, double& out) {
  if (text.empty()) return false;
  size_t used = 0;
  try {
    out = std::stod(text, &used);
  } catch (const std::logic_error&) {
    return false;
  }
  return used == text.size();
}

}  // namespace

std::vector<BlendPart> parse_blend(const std::string& flag) {
  std::vector<std::string> items;
  for (size_t start = 0;;) {
    const size_t comma = flag.find(',', start);
    items.push_back(flag.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<BlendPart> parts;
  double total = 0.0;
  for (const std::string& item : items) {
    const size_t colon = item.rfind(':');
    BlendPart part{item, 1.0};
    double weight = 0.0;
    if (colon != std::string::npos && parse_weight(item.substr(colon + 1), weight)) {
      part = {item.substr(0, colon), weight};
    } else {
      PARTI_CHECK(items.size() == 1, ConfigError, "--data ", flag, ": ", item,
                  " has no weight (a blend is DIR:WEIGHT,DIR:WEIGHT,...)");
    }
    PARTI_CHECK(!part.dir.empty(), ConfigError, "--data ", flag, ": ", item, " names no folder");
    PARTI_CHECK(std::isfinite(part.weight) && part.weight > 0.0, ConfigError, "--data ", flag,
                ": the weight of ", part.dir, " must be a positive number");
    total += part.weight;
    parts.push_back(part);
  }
  for (BlendPart& part : parts) part.weight /= total;
  return parts;
}

BlendSchedule::BlendSchedule(std::vector<double> weights)
    : weights_(std::move(weights)), counts_(weights_.size(), 0) {
  PARTI_ASSERT(!weights_.empty(), "a blend of no datasets");
  double total = 0.0;
  for (double w : weights_) {
    PARTI_ASSERT(std::isfinite(w) && w > 0.0, "blend weight ", w);
    total += w;
  }
  for (double& w : weights_) w /= total;  // the shares the rule tracks sum to 1
}

BlendSchedule::Pick BlendSchedule::at(uint64_t n) const {
  if (weights_.size() == 1) return {0, n};
  if (n < next_) {
    next_ = 0;
    std::fill(counts_.begin(), counts_.end(), 0);
  }
  for (;; ++next_) {
    size_t best = 0;
    double best_error = -1e300;
    const auto ahead = static_cast<double>(next_ + 1);
    for (size_t k = 0; k < weights_.size(); ++k) {
      const double error = weights_[k] * ahead - static_cast<double>(counts_[k]);
      if (error > best_error) {
        best = k;
        best_error = error;
      }
    }
    if (next_ == n) {
      // Not counted yet: asking for n again gives the same pick; n + 1 counts it first.
      return {static_cast<int>(best), counts_[best]};
    }
    ++counts_[best];
  }
}

Blend::Blend(TokenSplit one) : splits{std::move(one)}, schedule({1.0}) {}

Blend::Blend(const TokenFile& one) : Blend(TokenSplit(one)) {}

Blend::Blend(std::vector<TokenSplit> parts, std::vector<double> weights)
    : splits(std::move(parts)), schedule(std::move(weights)) {
  PARTI_ASSERT(splits.size() == schedule.datasets(), splits.size(), " splits for ",
               schedule.datasets(), " weights");
}

Blend open_blend(const std::string& data_flag, const std::string& name) {
  std::vector<TokenSplit> splits;
  std::vector<double> weights;
  for (const BlendPart& part : parse_blend(data_flag)) {
    splits.push_back(TokenSplit::open(part.dir, name));
    weights.push_back(part.weight);
    const TokenSplit& first = splits.front();
    PARTI_CHECK(
        splits.back().vocab_size() == first.vocab_size() && splits.back().eot() == first.eot(),
        DataError, splits.back().where(), ": vocabulary ", splits.back().vocab_size(),
        " and end-of-text ", splits.back().eot(), " differ from ", first.where(), "'s (",
        first.vocab_size(), ", ", first.eot(), "): blended datasets share a tokenizer");
  }
  return {std::move(splits), std::move(weights)};
}

}  // namespace parti::data
