#include "parti/plan/search.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>

#include "parti/core/check.h"

namespace parti::plan {
namespace {

// Exact evaluation walks and simulates lists of about P x M x V instructions per stage: kept for
// the lists this size or smaller.
constexpr long kExactLimit = 20000;
// Step times closer than this (relative) are ranked by their bubble instead.
constexpr double kTie = 0.01;

std::vector<int> divisors(int n) {
  std::vector<int> out;
  for (int d = 1; d <= n; ++d) {
    if (n % d == 0) {
      out.push_back(d);
    }
  }
  return out;
}

template <typename T>
std::vector<T> choices(const std::optional<T>& fixed, std::vector<T> all) {
  if (fixed) {
    return {*fixed};
  }
  return all;
}

double capacity(const Query& q) { return q.memory_headroom * q.hardware.memory_gb * 1073741824.0; }

bool exact_affordable(const Workload& w, const Layout& l) {
  return static_cast<long>(l.pp) * l.micro_batches(w.global_batch) * l.virtual_stages <=
         kExactLimit;
}

std::string describe(const Layout& l) {
  std::string s = fmt::format(
      "dp {}{} tp {}{}{} pp {} zero {} mb {}", l.dp, l.cp > 1 ? fmt::format(" cp {}", l.cp) : "",
      l.tp, l.grid() > 1 ? fmt::format(" ({} x {} grid)", l.grid(), l.grid()) : "",
      l.sp ? " sp" : "", l.pp, l.zero, l.micro_batch);
  if (l.pp > 1) {
    s += " " + l.schedule + (l.virtual_stages > 1 ? fmt::format(" V{}", l.virtual_stages) : "");
  }
  if (l.recompute != "none") {
    s += " recompute " + l.recompute;
  }
  return s;
}

}  // namespace

Candidate evaluate(const Query& q, const Layout& l, bool exact) {
  const bool lists = exact && exact_affordable(q.workload, l);
  Candidate c;
  c.layout = l;
  c.memory = peak_memory(stage_memory(q.workload, l, q.precision, lists));
  c.time = step_time(q.workload, l, q.hardware, q.precision, q.cluster, lists);
  c.exact = lists || l.pp == 1;
  return c;
}

namespace {

// The schedules (and V) to try for a pipeline of pp stages.
std::vector<std::pair<std::string, int>> schedules_for(const Query& q, int pp) {
  if (pp == 1) {
    return {{q.fixed.schedule.value_or("1f1b"), 1}};
  }
  std::vector<std::pair<std::string, int>> out;
  for (const std::string& s :
       choices<std::string>(q.fixed.schedule, {"gpipe", "1f1b", "zb", "interleaved"})) {
    if (s != "interleaved") {
      out.push_back({s, 1});
      continue;
    }
    for (int v = 2; v <= 8 && pp * v <= q.workload.model.layers; ++v) {
      if (!q.fixed.virtual_stages || *q.fixed.virtual_stages == v) {
        out.push_back({s, v});
      }
    }
  }
  return out;
}

// How tp ranks may cut the weights: 1D without and with sp; 2D on a square tp of 4 or more.
std::vector<std::pair<std::string, bool>> tp_modes(const Query& q, int tp) {
  std::vector<std::pair<std::string, bool>> out;
  for (const std::string& mode : choices<std::string>(q.fixed.tp_mode, {"1d", "2d"})) {
    if (mode == "2d") {
      const Layout grid{.tp = tp, .tp_mode = "2d"};
      if (grid.grid() > 1 && !q.fixed.sp.value_or(false)) {
        out.push_back({mode, false});
      }
      continue;
    }
    for (bool sp :
         choices(q.fixed.sp, tp > 1 ? std::vector<bool>{false, true} : std::vector<bool>{false})) {
      out.push_back({mode, sp});
    }
  }
  return out;
}

// The memory savers for one layout `base` (everything but ZeRO and recomputation), from the
// cheapest: per ZeRO stage, the first recomputation mode that fits is the fastest of the three;
// once a stage fits without recomputation, the higher stages (more communication) cannot be
// faster. Each one that fits joins `found`, with its closed-form memory and time.
void add_memory_savers(const Query& q, const Layout& base, double limit, PlanResult& r,
                       std::vector<Candidate>& found) {
  const Workload& w = q.workload;
  const std::vector<std::string> recomputes =
      choices<std::string>(q.fixed.recompute, {"none", "selective", "full"});
  const std::vector<int> zeros =
      base.dp * base.cp > 1 ? std::vector<int>{0, 1, 2, 3} : std::vector<int>{0};
  for (int zero : choices(q.fixed.zero, zeros)) {
    for (const std::string& rc : recomputes) {
      Layout l = base;
      l.zero = zero;
      l.recompute = rc;
      ++r.enumerated;
      if (!check_layout(w, l).empty()) {
        continue;
      }
      ++r.legal;
      const Memory m = peak_memory(stage_memory(w, l, q.precision, false));
      if (m.total() > limit) {
        continue;
      }
      ++r.fitting;
      Candidate c;
      c.layout = l;
      c.memory = m;
      c.time = step_time(w, l, q.hardware, q.precision, q.cluster, false);
      found.push_back(c);
      if (rc == "none") {
        return;
      }
      break;
    }
  }
}

// The best few of `found` again, on the real lists, ranked by the exact numbers; predictions
// closer than the model's resolution are a tie: within each run of layouts within kTie of the
// run's fastest, the smaller pipeline bubble first (idle time the model can only estimate; fewer
// micro-batches in flight also leave less to overlap the rest with).
std::vector<Candidate> rank_best(const Query& q, std::vector<Candidate> found, double limit) {
  std::sort(found.begin(), found.end(),
            [](const Candidate& a, const Candidate& b) { return a.time.step_s < b.time.step_s; });
  const size_t again = std::min(found.size(), static_cast<size_t>(std::max(4 * q.top, 16)));
  std::vector<Candidate> best;
  for (size_t i = 0; i < again; ++i) {
    Candidate c = evaluate(q, found[i].layout, true);
    if (c.memory.total() <= limit) {
      best.push_back(c);
    }
  }
  std::sort(best.begin(), best.end(),
            [](const Candidate& a, const Candidate& b) { return a.time.step_s < b.time.step_s; });
  for (size_t i = 0; i < best.size();) {
    size_t j = i + 1;
    while (j < best.size() && best[j].time.step_s <= best[i].time.step_s * (1 + kTie)) {
      ++j;
    }
    std::stable_sort(
        best.begin() + static_cast<std::ptrdiff_t>(i),
        best.begin() + static_cast<std::ptrdiff_t>(j),
        [](const Candidate& a, const Candidate& b) { return a.time.bubble < b.time.bubble; });
    i = j;
  }
  if (best.size() > static_cast<size_t>(q.top)) {
    best.resize(static_cast<size_t>(q.top));
  }
  return best;
}

// What a user would try first: data parallelism alone, with ZeRO-3, and tensor parallelism over
// a node with data parallelism across nodes (micro-batch 1, no recomputation), each judged
// against the best's step time.
std::vector<Verdict> first_tries(const Query& q, double best_s, double limit) {
  const int N = q.cluster.devices;
  const int node_tp = std::min(q.cluster.devices_per_node, N);
  std::vector<std::pair<std::string, Layout>> tries;
  Layout pure;
  pure.dp = N;
  tries.push_back({"data parallel alone (ZeRO-0)", pure});
  pure.zero = 3;
  tries.push_back({"data parallel alone (ZeRO-3)", pure});
  Layout megatron;
  megatron.tp = node_tp;
  megatron.dp = N / node_tp;
  megatron.sp = node_tp > 1;
  megatron.zero = megatron.dp > 1 ? 1 : 0;
  tries.push_back({fmt::format("tp {} inside a node, dp across", node_tp), megatron});
  // Block partitioning in place of the 1D cut: the same tp as a grid (inside a node), or the
  // largest square tp a node holds.
  Layout grid = megatron;
  grid.sp = false;
  grid.tp_mode = "2d";
  for (int side = 2; side * side <= node_tp; ++side) {
    if (N % (side * side) == 0) {
      grid.tp = side * side;
    }
  }
  grid.dp = N / grid.tp;
  grid.micro_batch = grid.grid();
  grid.zero = grid.dp > 1 ? 1 : 0;
  if (grid.grid() > 1) {
    tries.push_back({fmt::format("tp {} as a {} x {} grid inside a node, dp across", grid.tp,
                                 grid.grid(), grid.grid()),
                     grid});
  }
  std::vector<Verdict> out;
  for (auto& [what, l] : tries) {
    Verdict v{what, l, ""};
    const std::vector<std::string> errors = check_layout(q.workload, l);
    if (!errors.empty()) {
      v.outcome = "not possible: " + errors.front();
    } else {
      const Candidate c = evaluate(q, l, true);
      if (c.memory.total() > limit) {
        v.outcome = fmt::format("does not fit: {:.1f} GiB per device of {:.1f} GiB usable",
                                c.memory.total() / 1073741824.0, limit / 1073741824.0);
      } else {
        v.outcome = fmt::format("fits ({:.1f} GiB); step {:.3g} s, {:.2f}x the best's",
                                c.memory.total() / 1073741824.0, c.time.step_s,
                                best_s > 0 ? c.time.step_s / best_s : 0.0);
      }
    }
    v.what += " [" + describe(l) + "]";
    out.push_back(v);
  }
  return out;
}

}  // namespace

PlanResult plan(const Query& q) {
  const auto t0 = std::chrono::steady_clock::now();
  const Workload& w = q.workload;
  const int N = q.cluster.devices;
  PARTI_CHECK(N >= 1 && q.cluster.devices_per_node >= 1, ConfigError,
              "--gpus and --gpus-per-node must be positive");
  const std::vector<std::string> model_errors = model::validate(w.model);
  PARTI_CHECK(model_errors.empty(), ConfigError, model_errors.empty() ? "" : model_errors.front());
  PARTI_CHECK(w.global_batch >= 1, ConfigError, "--global-batch must be positive");
  const double limit = capacity(q);
  PlanResult r;
  std::vector<Candidate> found;
  for (int tp : choices(q.fixed.tp, divisors(N))) {
    for (int pp : choices(q.fixed.pp, divisors(N / std::max(tp, 1)))) {
      if (N % (tp * pp) != 0) {
        continue;
      }
      for (int cp : choices(q.fixed.cp, divisors(N / (tp * pp)))) {
        if (N % (tp * pp * cp) != 0 || (cp > 1 && w.model.seq_len % (2 * cp) != 0)) {
          continue;
        }
        const int dp = N / (tp * pp * cp);
        if (q.fixed.dp && *q.fixed.dp != dp) {
          continue;
        }
        if (w.global_batch % dp != 0) {
          ++r.enumerated;
          continue;
        }
        for (int mb : choices(q.fixed.micro_batch, divisors(w.global_batch / dp))) {
          // Context parallelism at micro-batch b > 1 does the token work of dp x 2 at b / 2 plus
          // the ring: searched at micro-batch 1 (where dp cannot take the tokens) unless fixed.
          if (cp > 1 && mb > 1 && !q.fixed.micro_batch && !q.fixed.cp) {
            continue;
          }
          for (const auto& [schedule, V] : schedules_for(q, pp)) {
            // The trainer's split of the layers, once per chunk count.
            std::vector<int> split;
            if (pp > 1 && pp * V <= w.model.layers) {
              Layout chunks;
              chunks.pp = pp;
              chunks.virtual_stages = V;
              split = chunk_layers(w, chunks);
            }
            for (const auto& [mode, sp] : tp_modes(q, tp)) {
              const Layout base{.dp = dp,
                                .tp = tp,
                                .pp = pp,
                                .cp = cp,
                                .sp = sp,
                                .tp_mode = mode,
                                .micro_batch = mb,
                                .virtual_stages = V,
                                .schedule = schedule,
                                .pp_layers = split};
              add_memory_savers(q, base, limit, r, found);
            }
          }
        }
      }
    }
  }
  for (const bool grid : {true, false}) {
    const Candidate* fastest = nullptr;
    for (const Candidate& c : found) {
      const bool kind = grid ? c.layout.grid() > 1 : c.layout.tp > 1 && c.layout.grid() == 1;
      if (kind && (fastest == nullptr || c.time.step_s < fastest->time.step_s)) {
        fastest = &c;
      }
    }
    if (fastest != nullptr) {
      (grid ? r.best_grid : r.best_1d_tp).push_back(evaluate(q, fastest->layout, true));
    }
  }
  r.best = rank_best(q, std::move(found), limit);
  r.verdicts = first_tries(q, r.best.empty() ? 0.0 : r.best.front().time.step_s, limit);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace parti::plan
