// parti bench comm --op all_reduce|reduce_scatter|all_gather|sendrecv --min 1K --max 256M
//                  [--iters N] [--nonblocking]
// Under mpirun: for each size from min to max (doubling), the time of one operation through
// Parti's ProcessGroup and of Open MPI's own blocking collective called directly, measured in the
// same run, with nccl-tests' conventions: size is the whole buffer in bytes (float32), time the
// slowest rank's mean, algbw = size / time, busbw = algbw x (all_reduce 2(P-1)/P,
// reduce_scatter and all_gather (P-1)/P, sendrecv 1).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <vector>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/core/cpu.h"
#include "parti/io/files.h"
#include "parti/plan/calibrate.h"

namespace parti::cli {
namespace {

struct BenchArgs {
  std::string op = "all_reduce";
  std::string min = "1K";
  std::string max = "256M";
  int iters = 0;  // 0: chosen per size
  bool nonblocking = false;
};

size_t parse_bytes(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])) != 0) {
    ++digits;
  }
  PARTI_CHECK(digits > 0, ConfigError, "size '", text, "': expected a number with K, M or G");
  std::string unit = text.substr(digits);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) {
    unit.pop_back();
  }
  size_t scale = 1;
  if (unit == "K" || unit == "k") {
    scale = size_t{1} << 10;
  } else if (unit == "M" || unit == "m") {
    scale = size_t{1} << 20;
  } else if (unit == "G" || unit == "g") {
    scale = size_t{1} << 30;
  } else {
    PARTI_CHECK(unit.empty(), ConfigError, "size '", text, "': unknown unit '", unit, "'");
  }
  return std::stoull(text.substr(0, digits)) * scale;
}

std::string format_bytes(size_t bytes) {
  if (bytes >= (size_t{1} << 30) && bytes % (size_t{1} << 30) == 0) {
    return fmt::format("{}G", bytes >> 30);
  }
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0) {
    return fmt::format("{}M", bytes >> 20);
  }
  if (bytes >= (size_t{1} << 10) && bytes % (size_t{1} << 10) == 0) {
    return fmt::format("{}K", bytes >> 10);
  }
  return std::to_string(bytes);
}

// Seconds per call of `op` through the group (this rank's mean over iters, after one warm-up):
// the blocking call, or the non-blocking one and its wait (what gradient buckets use).
double parti_seconds(dist::ProcessGroup& g, const std::string& op, size_t count, int iters,
                     bool nonblocking) {
  const auto p = static_cast<size_t>(g.size());
  const size_t block = count / p;
  std::vector<float> a(count, 1.0f), b(count, 0.0f);
  auto once = [&] {
    float* mine = a.data() + static_cast<size_t>(g.rank()) * block;
    if (op == "all_reduce") {
      nonblocking ? g.iall_reduce(a.data(), count, dist::ReduceOp::sum).wait()
                  : g.all_reduce(a.data(), count, dist::ReduceOp::sum);
    } else if (op == "reduce_scatter") {
      nonblocking ? g.ireduce_scatter(a.data(), b.data(), block).wait()
                  : g.reduce_scatter(a.data(), b.data(), block);
    } else if (op == "all_gather") {
      nonblocking ? g.iall_gather(mine, a.data(), block).wait()
                  : g.all_gather(mine, a.data(), block);
    } else if (g.size() > 1) {  // sendrecv
      const int next = (g.rank() + 1) % g.size(), prev = (g.rank() + g.size() - 1) % g.size();
      dist::Request r = g.irecv(b.data(), count, prev, 0);
      dist::Request s = g.isend(a.data(), count, next, 0);
      r.wait();
      s.wait();
    }
  };
  once();
  g.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) {
    once();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
}

void run_bench_comm(const BenchArgs& a, const Runtime& runtime) {
  const std::vector<std::string> ops = {"all_reduce", "reduce_scatter", "all_gather", "sendrecv"};
  PARTI_CHECK(std::find(ops.begin(), ops.end(), a.op) != ops.end(), ConfigError, "--op ", a.op,
              ": expected all_reduce, reduce_scatter, all_gather or sendrecv");
  const size_t lo = parse_bytes(a.min), hi = parse_bytes(a.max);
  PARTI_CHECK(lo >= sizeof(float) && lo <= hi, ConfigError, "--min ", a.min, " --max ", a.max,
              ": expected 4 bytes <= min <= max");
  PARTI_CHECK(a.iters >= 0, ConfigError, "--iters must be positive (0: automatic)");
  PARTI_CHECK(runtime.mpi != nullptr, ConfigError,
              "parti bench comm measures MPI: run it under mpirun -np N (N >= 2)");
  std::unique_ptr<dist::ProcessGroup> world = runtime.mpi->world();
  const int P = world->size();
  const double bus = a.op == "all_reduce" ? 2.0 * (P - 1) / P
                     : a.op == "sendrecv" ? 1.0
                                          : static_cast<double>(P - 1) / P;
  const bool leader = world->rank() == 0;
  if (leader) {
    std::cout << fmt::format(
        "# parti bench comm: {} ({}) on {} ranks, float32; time: slowest rank's mean per call; "
        "mpi: Open MPI's own blocking call on MPI_COMM_WORLD, same run; ratio = mpi_us / "
        "time_us\n",
        a.op, a.nonblocking ? "non-blocking, start and wait" : "blocking", P);
    std::cout << fmt::format("# {:>8} {:>11} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}\n",
                             "size", "count", "iters", "time_us", "algbw_GB/s", "busbw_GB/s",
                             "mpi_us", "mpi_busbw", "ratio");
  }
  const size_t quantum = sizeof(float) * static_cast<size_t>(P);
  for (size_t bytes = lo; bytes <= hi; bytes *= 2) {
    // Whole blocks of floats per rank.
    const size_t size = std::max(quantum, bytes / quantum * quantum);
    const size_t count = size / sizeof(float);
    const int iters = a.iters > 0
                          ? a.iters
                          : static_cast<int>(std::clamp<size_t>((size_t{1} << 30) / size, 5, 200));
    double times[2] = {parti_seconds(*world, a.op, count, iters, a.nonblocking),
                       dist::raw_mpi_seconds(a.op, count, iters)};
    world->all_reduce(times, 2, dist::ReduceOp::max);
    if (leader) {
      const double gb = static_cast<double>(size) / 1e9;
      std::cout << fmt::format(
                       "  {:>8} {:>11} {:>6} {:>10.1f} {:>10.3f} {:>10.3f} {:>10.1f} {:>10.3f} "
                       "{:>6.3f}",
                       format_bytes(size), count, iters, times[0] * 1e6, gb / times[0],
                       gb / times[0] * bus, times[1] * 1e6, gb / times[1] * bus,
                       times[1] / times[0])
                << std::endl;
    }
  }
}

struct CalibrateArgs {
  std::string out;
  plan::CalibrateOptions options;
};

void run_calibrate(const CalibrateArgs& a, const Runtime& runtime) {
  core::set_threads(1);
  std::unique_ptr<dist::ProcessGroup> world =
      runtime.mpi != nullptr ? runtime.mpi->world() : dist::make_self_group("world");
  const plan::Hardware h = plan::calibrate(
      *world, runtime.mpi != nullptr ? runtime.mpi->splitter() : dist::Mesh::Split{}, a.options,
      std::cout);
  if (world->rank() == 0) {
    io::write_text_atomically(a.out, plan::to_json(h).dump(2) + "\n");
    std::cout << "wrote " << a.out << "\n";
  }
}

}  // namespace

void add_bench(CLI::App& app, const Runtime& runtime) {
  CLI::App* bench = app.add_subcommand("bench", "measure this machine");
  bench->require_subcommand(1);
  CLI::App* comm = bench->add_subcommand(
      "comm", "collective bandwidth through Parti and through Open MPI directly (under mpirun)");
  auto args = std::make_shared<BenchArgs>();
  comm->add_option("--op", args->op, "all_reduce, reduce_scatter, all_gather or sendrecv")
      ->capture_default_str();
  comm->add_option("--min", args->min, "smallest buffer (bytes; K, M, G suffixes)")
      ->capture_default_str();
  comm->add_option("--max", args->max, "largest buffer, doubling from --min")
      ->capture_default_str();
  comm->add_option("--iters", args->iters, "timed calls per size (0: 2^30 / size, in [5, 200])")
      ->capture_default_str();
  comm->add_flag("--nonblocking", args->nonblocking,
                 "time the non-blocking form and its wait (as gradient buckets use it)");
  comm->callback([args, &runtime] { run_bench_comm(*args, runtime); });

  CLI::App* cal = bench->add_subcommand(
      "calibrate",
      "measure this machine into a hardware profile for `parti plan` (run under mpirun with one "
      "rank per core: mpirun -np $(nproc) parti bench calibrate --out FILE)");
  auto cal_args = std::make_shared<CalibrateArgs>();
  cal->add_option("--out", cal_args->out, "where to write the profile (JSON)")->required();
  cal->add_option("--name", cal_args->options.name, "the profile's name")->capture_default_str();
  cal->add_option("--seconds", cal_args->options.seconds_per_point,
                  "time spent on each measurement at least")
      ->capture_default_str();
  cal->callback([cal_args, &runtime] { run_calibrate(*cal_args, runtime); });
}

}  // namespace parti::cli
