// parti schedule --pp P --micro-batches M --schedule gpipe|1f1b|interleaved|zb
//                [--virtual-stages V] [--list]
// Prints the schedule's stage x time grid (unit costs: a forward 1, an input-gradient backward 1,
// a weight-gradient backward 1, divided by V per chunk), whether the checker accepts it, the
// simulated bubble fraction beside the formula, and each stage's peak in-flight micro-batches;
// --list also prints each stage's instruction list in the text form.
#include <fmt/core.h>

#include <iostream>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::cli {
namespace {

namespace pipeline = parallel::pipeline;

struct ScheduleArgs {
  int pp = 2;
  int micro_batches = 4;
  int virtual_stages = 1;
  std::string schedule = "1f1b";
  bool list = false;
  std::vector<double> costs;  // F, I, W (empty: unit costs only)
};

void run_schedule(const ScheduleArgs& a) {
  const pipeline::Schedule s =
      pipeline::make_schedule(a.schedule, a.pp, a.micro_batches, a.virtual_stages);
  const std::vector<std::string> errors = pipeline::check(s);
  PARTI_ASSERT(errors.empty(), "generated schedule fails its check: ", errors.front());
  const pipeline::Simulation sim = pipeline::simulate(s);
  const int P = a.pp, M = a.micro_batches, V = s.virtual_stages();
  std::cout << fmt::format("{} schedule, {} stages, {} micro-batches, {} virtual stage{}: valid\n",
                           s.name, P, M, V, V > 1 ? "s" : "");
  std::cout << pipeline::render(s, sim);
  std::string formula;
  if (s.name == "gpipe" || s.name == "1f1b") {
    formula = fmt::format(" ((P-1)/(M+P-1) = {:.4f})", static_cast<double>(P - 1) / (M + P - 1));
  } else if (s.name == "interleaved") {
    formula =
        fmt::format(" ((P-1)/(V M+P-1) = {:.4f})", static_cast<double>(P - 1) / (V * M + P - 1));
  } else {
    formula = fmt::format(" (1f1b: {:.4f})", static_cast<double>(P - 1) / (M + P - 1));
  }
  std::cout << fmt::format("bubble fraction {:.4f}{}; step {:.2f} time units\n", sim.bubble(),
                           formula, sim.makespan);
  std::cout << "peak in-flight micro-batch-chunks per stage:";
  for (int p : sim.peak_in_flight) {
    std::cout << " " << p;
  }
  std::cout << "\nidle share per stage:";
  for (double busy : sim.busy) {
    std::cout << fmt::format(" {:.4f}", 1.0 - busy / sim.makespan);
  }
  std::cout << "\n";
  if (!a.costs.empty()) {
    PARTI_CHECK(a.costs.size() == 3 && a.costs[0] > 0 && a.costs[1] > 0 && a.costs[2] > 0,
                ConfigError, "--costs takes three positive numbers F,I,W");
    const pipeline::Simulation costed = pipeline::simulate(s, {a.costs[0], a.costs[1], a.costs[2]});
    std::cout << fmt::format("with costs F {} I {} W {}: bubble fraction {:.4f}\n", a.costs[0],
                             a.costs[1], a.costs[2], costed.bubble());
    std::cout << "idle share per stage (costs):";
    for (double busy : costed.busy) {
      std::cout << fmt::format(" {:.4f}", 1.0 - busy / costed.makespan);
    }
    std::cout << "\n";
  }
  if (a.list) {
    for (size_t r = 0; r < s.per_rank.size(); ++r) {
      std::cout << "stage " << r << ":";
      for (const pipeline::Instruction& in : s.per_rank[r]) {
        std::cout << " " << pipeline::format(in);
      }
      std::cout << "\n";
    }
  }
}

}  // namespace

void add_schedule(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "schedule", "print a pipeline schedule: timeline, bubble fraction, peak memory");
  auto args = std::make_shared<ScheduleArgs>();
  cmd->add_option("--pp", args->pp, "pipeline stages")->capture_default_str();
  cmd->add_option("--micro-batches", args->micro_batches, "micro-batches per optimizer step")
      ->capture_default_str();
  cmd->add_option("--schedule", args->schedule, "gpipe, 1f1b, interleaved or zb")
      ->capture_default_str();
  cmd->add_option("--virtual-stages", args->virtual_stages, "model chunks per stage (interleaved)")
      ->capture_default_str();
  cmd->add_flag("--list", args->list, "also print each stage's instructions");
  cmd->add_option("--costs", args->costs,
                  "simulate again with these costs of a forward, an input-gradient backward and "
                  "a weight-gradient backward (a full backward: I + W), e.g. 36,40,26")
      ->delimiter(',');
  cmd->callback([args] { run_schedule(*args); });
}

}  // namespace parti::cli
