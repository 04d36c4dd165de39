#include "parti/parallel/pipeline/stage.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "parti/core/check.h"

namespace parti::parallel::pipeline {
namespace {

double block_cost(const model::ModelConfig& cfg) {
  const double C = cfg.dim, T = cfg.seq_len;
  return 6.0 * (12.0 * C * C + 13.0 * C) + 12.0 * C * T;
}

double head_cost(const model::ModelConfig& cfg) {
  return 6.0 * cfg.dim * static_cast<double>(cfg.padded_vocab());
}

}  // namespace

std::vector<double> chunk_costs(const model::ModelConfig& cfg, const std::vector<int>& split) {
  std::vector<double> costs;
  for (int n : split) {
    costs.push_back(n * block_cost(cfg));
  }
  if (!costs.empty()) {
    costs.back() += head_cost(cfg);
  }
  return costs;
}

std::string split_error(int layers, int chunks, const std::vector<int>& explicit_split) {
  const int L = layers;
  if (chunks < 1 || L < chunks) {
    return str_cat("--layers ", L, " cannot fill ", chunks,
                   " pipeline chunks (--pp x --virtual-stages) with a block each");
  }
  if (explicit_split.empty()) {
    return "";
  }
  if (static_cast<int>(explicit_split.size()) != chunks) {
    return str_cat("--pp-layers has ", explicit_split.size(), " entries for ", chunks,
                   " chunks (--pp x --virtual-stages)");
  }
  for (int n : explicit_split) {
    if (n < 1) {
      return str_cat("--pp-layers: every chunk needs at least one block, got ", n);
    }
  }
  const int sum = std::accumulate(explicit_split.begin(), explicit_split.end(), 0);
  if (sum != L) {
    return str_cat("--pp-layers sums to ", sum, ", not --layers ", L);
  }
  return "";
}

std::vector<int> split_layers(const model::ModelConfig& cfg, int chunks,
                              const std::vector<int>& explicit_split) {
  const int L = cfg.layers;
  const std::string error = split_error(L, chunks, explicit_split);
  PARTI_CHECK(error.empty(), ConfigError, error);
  if (!explicit_split.empty()) {
    return explicit_split;
  }
  if (chunks == 1) {
    return {L};
  }
  // The last chunk takes k blocks; the others share L - k as evenly as possible, the earlier
  // ones taking the remainder. Keep the k whose costliest chunk is cheapest.
  std::vector<int> best;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int k = 1; k <= L - (chunks - 1); ++k) {
    std::vector<int> split(static_cast<size_t>(chunks), 0);
    split.back() = k;
    const int rest = L - k, others = chunks - 1;
    for (int c = 0; c < others; ++c) {
      split[static_cast<size_t>(c)] = rest / others + (c < rest % others ? 1 : 0);
    }
    const std::vector<double> costs = chunk_costs(cfg, split);
    const double worst = *std::max_element(costs.begin(), costs.end());
    if (worst < best_cost) {
      best_cost = worst;
      best = split;
    }
  }
  return best;
}

}  // namespace parti::parallel::pipeline
