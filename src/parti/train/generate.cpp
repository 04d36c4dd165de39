#include "parti/train/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "parti/core/check.h"
#include "parti/core/rng.h"
#include "parti/model/kv_cache.h"

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
  if (o.top_p < 1.0) {  // the nucleus: the likeliest tokens until their mass reaches top_p
    double mass = 0.0;
    size_t kept = 0;
    while (kept < k && mass < o.top_p * total) {
      mass += weights[kept++];
    }
    k = kept;
    total = mass;
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

// The model run over the context: its last position's logits. With a cache only the tokens
// past cache.length() run, at their positions; without one, the whole context from position 0.
class Runner {
 public:
  Runner(model::Model<float>& model, float* params, core::Arena& arena, bool cache)
      : model_(model),
        params_(params),
        arena_(arena),
        record_(model.table().modules()),
        cache_(cache ? model.config().seq_len : 0),
        use_cache_(cache) {}
  const float* last_logits(const std::vector<int32_t>& context) {
    arena_.reset();
    const int past = use_cache_ ? cache_.length() : 0;
    const int Tn = static_cast<int>(context.size()) - past;
    positions_.resize(static_cast<size_t>(Tn));
    std::iota(positions_.begin(), positions_.end(), past);
    record_.tokens = context.data() + past;
    model::Pass<float> pass{1, Tn, model_.table(), params_, nullptr, arena_, record_};
    pass.positions = positions_.data();
    pass.kv = use_cache_ ? &cache_ : nullptr;
    const float* logits = model_.logits(pass);
    if (use_cache_) {
      cache_.advance(Tn);
    }
    return logits + static_cast<size_t>(Tn - 1) * static_cast<size_t>(model_.vocab_rows());
  }
  // The context lost its first tokens: the cache starts again.
  void shifted() { cache_.clear(); }

 private:
  model::Model<float>& model_;
  float* params_;
  core::Arena& arena_;
  model::ActivationRecord<float> record_;
  model::KvCache<float> cache_;
  bool use_cache_;
  std::vector<int32_t> positions_;
};

}  // namespace

std::vector<int32_t> generate(model::Model<float>& model, float* params, core::Arena& arena,
                              std::vector<int32_t> tokens, const SampleOptions& options,
                              const TokenFn& on_token) {
  PARTI_CHECK(!tokens.empty(), ConfigError, "--prompt encodes to no tokens");
  PARTI_CHECK(options.top_p > 0.0 && options.top_p <= 1.0, ConfigError,
              "--top-p must be in (0, 1], got ", options.top_p);
  const model::ModelConfig& cfg = model.config();
  for (int32_t id : tokens) {
    PARTI_CHECK(id >= 0 && id < cfg.vocab, DataError, "prompt token id ", id,
                " is outside the model's vocabulary of ", cfg.vocab);
  }
  const auto window = static_cast<size_t>(cfg.seq_len);
  const size_t keep = window / 2;
  Runner runner(model, params, arena, options.cache);
  const size_t prompt_size = tokens.size();
  // The context: the last tokens, at most `window` (a longer prompt keeps its last `window`).
  const size_t start = tokens.size() > window ? tokens.size() - window : 0;
  std::vector<int32_t> context(tokens.begin() + static_cast<std::ptrdiff_t>(start), tokens.end());
  for (int i = 0; i < options.max_tokens; ++i) {
    const float* last = runner.last_logits(context);
    const int32_t next = pick(last, cfg.vocab, options, static_cast<uint64_t>(i));
    tokens.push_back(next);
    if (on_token) {
      on_token(next);
    }
    if (next == options.stop_token) {
      break;
    }
    if (context.size() == window) {  // no room for `next`: keep the last half, then add it
      context.erase(context.begin(), context.end() - static_cast<std::ptrdiff_t>(keep));
      runner.shifted();
    }
    context.push_back(next);
  }
  arena.reset();
  return {tokens.begin() + static_cast<std::ptrdiff_t>(prompt_size), tokens.end()};
}

}  // namespace parti::train
