// simulate: the lists run as the executor runs them, with costs; render: the stage x time grid.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {
namespace {

// A message: (kind: 0 activation / 1 gradient, micro-batch, the sender's chunk).
using Key = std::tuple<int, int, int>;

Key sent_key(const Instruction& in) {
  return {in.op == Op::send_act ? 0 : 1, in.micro_batch, in.chunk};
}
// The send a receive waits for: chunk c's input is chunk c - 1's activation; its output
// gradient is chunk c + 1's input gradient.
Key awaited_key(const Instruction& in) {
  return in.op == Op::recv_act ? Key{0, in.micro_batch, in.chunk - 1}
                               : Key{1, in.micro_batch, in.chunk + 1};
}

double cost_of(const Instruction& in, const Costs& c, int V) {
  switch (in.op) {
    case Op::forward:
      return c.forward / V;
    case Op::backward:
      return (c.backward_input + c.backward_weight) / V;
    case Op::backward_input:
      return c.backward_input / V;
    case Op::backward_weight:
      return c.backward_weight / V;
    default:
      return 0.0;
  }
}

}  // namespace

double Simulation::bubble() const {
  if (makespan <= 0.0 || busy.empty()) {
    return 0.0;
  }
  double idle = 0.0;
  for (double b : busy) {
    idle += (makespan - b) / makespan;
  }
  return idle / static_cast<double>(busy.size());
}

Simulation simulate(const Schedule& s, const Costs& costs) {
  const int V = s.virtual_stages();
  return simulate(s, [&](const Instruction& in) { return cost_of(in, costs, V); });
}

Simulation simulate(const Schedule& s, const std::function<double(const Instruction&)>& cost,
                    const std::function<bool(const Instruction&)>& communicates) {
  const auto P = static_cast<size_t>(s.stages);
  Simulation sim;
  sim.spans.resize(P);
  sim.busy.assign(P, 0.0);
  sim.peak_in_flight.assign(P, 0);
  std::vector<size_t> next(P, 0);
  std::vector<double> clock(P, 0.0);
  std::map<Key, double> sent;  // when each message was sent
  // With `communicates`: sends posted, not yet moving (their sender has not entered MPI since).
  const bool lazy = static_cast<bool>(communicates);
  std::vector<std::vector<Key>> posted(P);
  const auto deliver = [&](size_t r) {
    for (const Key& k : posted[r]) {
      sent[k] = clock[r];
    }
    posted[r].clear();
  };
  std::vector<std::set<std::pair<int, int>>> live(P);  // (micro-batch, chunk) holding activations
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t r = 0; r < P; ++r) {
      const auto& list = s.per_rank[r];
      while (next[r] < list.size()) {
        const Instruction& in = list[next[r]];
        if (lazy && (!is_compute(in.op) || communicates(in))) {
          deliver(r);
        }
        if (is_receive(in.op)) {
          auto it = sent.find(awaited_key(in));
          if (it == sent.end()) {
            break;  // blocked until the peer sends
          }
          clock[r] = std::max(clock[r], it->second);
        } else if (in.op == Op::send_act || in.op == Op::send_grad) {
          if (lazy) {
            posted[r].push_back(sent_key(in));
          } else {
            sent[sent_key(in)] = clock[r];
          }
        } else if (is_compute(in.op)) {
          const double d = cost(in);
          sim.spans[r].push_back({clock[r], clock[r] + d, in});
          clock[r] += d;
          sim.busy[r] += d;
          const std::pair<int, int> mc{in.micro_batch, in.chunk};
          if (in.op == Op::forward) {
            live[r].insert(mc);
            sim.peak_in_flight[r] =
                std::max(sim.peak_in_flight[r], static_cast<int>(live[r].size()));
          } else if (in.op != Op::backward_input) {
            live[r].erase(mc);
          }
        }
        ++next[r];
        progress = true;
      }
      if (next[r] == list.size() && !posted[r].empty()) {
        deliver(r);  // the gradient reduction after the lists enters MPI
        progress = true;
      }
    }
  }
  for (size_t r = 0; r < P; ++r) {
    sim.makespan = std::max(sim.makespan, clock[r]);
    if (next[r] < s.per_rank[r].size()) {
      sim.deadlock = true;
      sim.blocked += str_cat(sim.blocked.empty() ? "" : ", ", "stage ", r, " waits in ",
                             format(s.per_rank[r][next[r]]));
    }
  }
  return sim;
}

std::string render(const Schedule& s, const Simulation& sim) {
  const int V = s.virtual_stages();
  const double unit = 1.0 / V;  // with unit costs, one cell per chunk forward
  const auto cells = static_cast<size_t>(std::lround(sim.makespan / unit));
  size_t width = 2;
  std::vector<std::vector<std::string>> grid(sim.spans.size(),
                                             std::vector<std::string>(cells, "."));
  for (size_t r = 0; r < sim.spans.size(); ++r) {
    for (const Span& span : sim.spans[r]) {
      const char letter = span.what.op == Op::forward          ? 'F'
                          : span.what.op == Op::backward       ? 'B'
                          : span.what.op == Op::backward_input ? 'I'
                                                               : 'W';
      std::string label = str_cat(letter, span.what.micro_batch);
      if (V > 1) {
        label += str_cat(".c", span.what.chunk);
      }
      width = std::max(width, label.size());
      const auto first = static_cast<size_t>(std::lround(span.start / unit));
      const auto last = static_cast<size_t>(std::lround(span.end / unit));
      for (size_t c = first; c < last && c < cells; ++c) {
        grid[r][c] = label;
      }
    }
  }
  std::string out;
  for (size_t r = 0; r < grid.size(); ++r) {
    out += str_cat("stage ", r, " |");
    for (const std::string& cell : grid[r]) {
      out += " " + cell + std::string(width - cell.size(), ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace parti::parallel::pipeline
