#include "parti/train/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "parti/core/check.h"
#include "parti/core/rng.h"

namespace parti::train {
namespace {

int32_t pick(const float* logits, int V, const SampleOptions& o, uint64_t draw) {
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b]; };
  if (o.temperature <= 0.0) {
    return *std::max_element(order.begin(), order.end(),
                             [&](int32_t a, int32_t b) { return logits[a] < logits[b]; });
  }
  size_t k =
      o.top_k > 0 ? std::min<size_t>(static_cast<size_t>(o.top_k), order.size()) : order.size();
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    by_logit);
  std::vector<double> weights(k);
  const double top = static_cast<double>(logits[order[0]]);
  double total = 0.0;
  for (size_t i = 0; i < k; ++i) {
    weights[i] = std::exp((static_cast<double>(logits[order[i]]) - top) / o.temperature);
    total += weights[i];
  }
  double u = core::random_uniform(o.seed, core::name_stream("generate"), draw) * total;
  for (size_t i = 0; i < k; ++i) {
    u -= weights[i];
    if (u < 0.0) {
      return order[i];
    }
  }
  return order[k - 1];
}

}  // namespace

std::vector<int32_t> generate(model::Model<float>& model, float* params, core::Arena& arena,
                              std::vector<int32_t> tokens, const SampleOptions& options) {
  PARTI_CHECK(!tokens.empty(), ConfigError, "--prompt encodes to no tokens");
  const model::ModelConfig& cfg = model.config();
  for (int32_t id : tokens) {
    PARTI_CHECK(id >= 0 && id < cfg.vocab, DataError, "prompt token id ", id,
                " is outside the model's vocabulary of ", cfg.vocab);
  }
  model::ActivationRecord<float> record(model.table().modules());
  const size_t prompt_size = tokens.size();
  for (int i = 0; i < options.max_tokens; ++i) {
    const size_t start = tokens.size() > static_cast<size_t>(cfg.seq_len)
                             ? tokens.size() - static_cast<size_t>(cfg.seq_len)
                             : 0;
    std::vector<int32_t> context(tokens.begin() + static_cast<std::ptrdiff_t>(start), tokens.end());
    record.tokens = context.data();
    const int Tn = static_cast<int>(context.size());
    model::Pass<float> pass{1, Tn, model.table(), params, nullptr, arena, record};
    const float* logits = model.logits(pass);
    const float* last =
        logits + static_cast<size_t>(Tn - 1) * static_cast<size_t>(model.vocab_rows());
    const int32_t next = pick(last, cfg.vocab, options, static_cast<uint64_t>(i));
    arena.reset();
    tokens.push_back(next);
    if (next == options.stop_token) {
      break;
    }
  }
  return {tokens.begin() + static_cast<std::ptrdiff_t>(prompt_size), tokens.end()};
}

}  // namespace parti::train
