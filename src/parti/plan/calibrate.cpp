#include "parti/plan/calibrate.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <ostream>
#include <thread>
#include <vector>

#include "parti/core/cpu.h"
#include "parti/kernels/adamw.h"
#include "parti/kernels/attention.h"
#include "parti/kernels/gelu.h"
#include "parti/kernels/gemm.h"
#include "parti/kernels/layernorm.h"

namespace parti::plan {
namespace {

using Clock = std::chrono::steady_clock;

double now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

// Seconds per call of fn, every rank measuring at once: one warm-up call, one timed call that
// sets how many calls take `least` / kTrials seconds (agreed over the world, so that collectives
// inside fn are called equally often everywhere), then kTrials trials of those calls; the median
// over trials of the slowest rank's mean (a virtual machine's neighbours come and go).
constexpr int kTrials = 5;

template <typename Fn>
double seconds_per_call(dist::ProcessGroup& world, double least, Fn&& fn) {
  fn();
  world.barrier();
  double once = now();
  fn();
  once = now() - once;
  world.all_reduce(&once, 1, dist::ReduceOp::max);
  const int calls = static_cast<int>(std::clamp(std::ceil(least / kTrials / once), 1.0, 1e6));
  std::vector<double> means;
  for (int trial = 0; trial < kTrials; ++trial) {
    world.barrier();
    const double t0 = now();
    for (int i = 0; i < calls; ++i) {
      fn();
    }
    double mean = (now() - t0) / calls;
    world.all_reduce(&mean, 1, dist::ReduceOp::max);
    means.push_back(mean);
  }
  std::nth_element(means.begin(), means.begin() + kTrials / 2, means.end());
  return means[kTrials / 2];
}

struct GemmPoint {
  double m, n, k, flops;  // FLOP/s
};

// rate = R / (1 + h/m + h/n + h/k): for each h, R is the geometric mean of rate (1 + ...); keep
// the h with the least squared log error.
std::pair<double, double> fit_gemm(const std::vector<GemmPoint>& points) {
  double best_h = 0, best_r = 0, best_err = HUGE_VAL;
  for (double h = 0; h <= 1024; h += 1) {
    double log_r = 0;
    for (const GemmPoint& p : points) {
      log_r += std::log(p.flops * (1 + h / p.m + h / p.n + h / p.k));
    }
    log_r /= static_cast<double>(points.size());
    double err = 0;
    for (const GemmPoint& p : points) {
      const double e = std::log(p.flops) - (log_r - std::log(1 + h / p.m + h / p.n + h / p.k));
      err += e * e;
    }
    if (err < best_err) {
      best_err = err;
      best_h = h;
      best_r = std::exp(log_r);
    }
  }
  return {best_r, best_h};
}

// What each measurement needs: the ranks measuring at once, the seconds per point, and the log
// (written by rank 0).
struct Probe {
  dist::ProcessGroup& world;
  double least;
  std::ostream& log;
  bool leader() const { return world.rank() == 0; }
};

// GEMM over shapes: the fitted rate and half-dimension into h.
void measure_gemm(const Probe& probe, Hardware& h) {
  std::vector<GemmPoint> points;
  const int dims[] = {64, 128, 256, 512, 1024, 2048};
  std::vector<float> a(2048 * 2048, 0.5f), b(2048 * 2048, 0.25f), c(2048 * 2048, 0.0f);
  for (int m : dims) {
    for (int n : dims) {
      for (int k : dims) {
        if ((m == n && n == k) || (m >= 256 && (n == m || k == m))) {
          const double s = seconds_per_call(probe.world, probe.least, [&] {
            kernels::gemm<float>(kernels::Trans::no, kernels::Trans::no, m, n, k, 1.0f, a.data(), k,
                                 b.data(), n, 0.0f, c.data(), n);
          });
          points.push_back({1.0 * m, 1.0 * n, 1.0 * k, 2.0 * m * n * k / s});
        }
      }
    }
  }
  const auto [rate, half] = fit_gemm(points);
  h.matmul_tflops["fp32"] = rate / 1e12;
  h.gemm_efficiency = 1.0;
  h.gemm_half_dim = half;
  if (probe.leader()) {
    probe.log << fmt::format(
        "gemm: {} shapes, fitted rate {:.1f} GFLOP/s / (1 + {}/m + {}/n + {}/k)\n", points.size(),
        rate / 1e9, half, half, half);
    for (const GemmPoint& p : points) {
      const double model = rate / (1 + half / p.m + half / p.n + half / p.k);
      probe.log << fmt::format("  {:>5} x {:>5} x {:>5}: {:>7.1f} GFLOP/s (model {:>7.1f})\n", p.m,
                               p.n, p.k, p.flops / 1e9, model / 1e9);
    }
  }
}

// Attention (GPT-2 small's heads), LayerNorm and GELU, AdamW: their rates into h.
void measure_kernels(const Probe& probe, Hardware& h) {
  {
    const int B = 4, T = 256, C = 384, NH = 6;
    const size_t BT = static_cast<size_t>(B) * T;
    std::vector<float> qkv(BT * 3 * C, 0.01f), out(BT * C),
        att(static_cast<size_t>(B) * NH * T * T), dqkv(BT * 3 * C), dout(BT * C, 0.001f);
    const double s = seconds_per_call(probe.world, probe.least, [&] {
      kernels::attention_forward<float>(out.data(), att.data(), qkv.data(), B, T, C, NH);
      kernels::attention_backward<float>(dqkv.data(), dout.data(), qkv.data(), att.data(), B, T, C,
                                         NH);
    });
    const double flops = 12.0 * B * T * static_cast<double>(T) * C;
    h.attention_tflops["fp32"] = flops / s / 1e12;
    if (probe.leader()) {
      probe.log << fmt::format("attention (B {} T {} C {} NH {}): {:.1f} GFLOP/s full-square\n", B,
                               T, C, NH, flops / s / 1e9);
    }
  }
  {  // elementwise: LayerNorm and GELU forward and backward on 4 MiB rows
    const int N = 2048, C = 512;
    const size_t n = static_cast<size_t>(N) * C;
    std::vector<float> x(n, 0.3f), y(n), dy(n, 0.01f), dx(n), mean(N), rstd(N), w(C, 1.0f),
        bias(C, 0.0f), dw(C), db(C);
    const double s = seconds_per_call(probe.world, probe.least, [&] {
      kernels::layernorm_forward<float>(y.data(), mean.data(), rstd.data(), x.data(), w.data(),
                                        bias.data(), N, C);
      kernels::layernorm_backward<float>(dx.data(), dw.data(), db.data(), dy.data(), x.data(),
                                         w.data(), mean.data(), rstd.data(), N, C);
      kernels::gelu_forward<float>(y.data(), x.data(), n);
      kernels::gelu_backward<float>(dx.data(), x.data(), dy.data(), n);
    });
    h.memory_bandwidth_gbs = 11.0 * 4.0 * static_cast<double>(n) / s / 1e9;
    if (probe.leader()) {
      probe.log << fmt::format(
          "elementwise (LayerNorm, GELU): {:.2f} GB/s as the time model counts\n",
          h.memory_bandwidth_gbs);
    }
  }
  {  // AdamW over 4M parameters
    const size_t n = size_t{1} << 22;
    std::vector<float> p(n, 0.1f), m(n, 0.0f), v(n, 0.0f), g(n, 0.01f);
    const kernels::AdamWHyper hyper{1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1};
    const double s = seconds_per_call(probe.world, probe.least, [&] {
      kernels::adamw_update<float>(p.data(), m.data(), v.data(), g.data(), n, hyper);
    });
    h.optimizer_gbs = 7.0 * 4.0 * static_cast<double>(n) / s / 1e9;
    if (probe.leader()) {
      probe.log << fmt::format("optimizer (AdamW): {:.2f} GB/s as the time model counts\n",
                               h.optimizer_gbs);
    }
  }
}

// Links: all-reduce sizes over group sizes, least squares of t = a x + b y over x = 2 (g - 1),
// y = 2 (g - 1) / g bytes, each point weighted by 1 / t^2 (relative errors). Both links of h.
void measure_links(const Probe& probe, const dist::Mesh::Split& split, std::vector<float>& buffer,
                   Hardware& h) {
  dist::ProcessGroup& world = probe.world;
  const int P = world.size();
  double sxx = 0, sxy = 0, syy = 0, sxt = 0, syt = 0;
  std::vector<int> sizes;
  for (int g = 2; g < P && split; g *= 2) {
    sizes.push_back(g);
  }
  sizes.push_back(P);
  for (int g : sizes) {
    // Groups of g consecutive ranks, all timed at once; ranks past the last whole group (P not
    // a multiple of g) only join the timing's barriers.
    const bool member = world.rank() / g < P / g;
    std::unique_ptr<dist::ProcessGroup> sub;
    if (g < P) {
      sub = split(member ? world.rank() / g : P, world.rank(), fmt::format("calibrate{}", g));
    }
    dist::ProcessGroup& group = g < P ? *sub : world;
    for (size_t bytes = 4096; bytes <= (64u << 20); bytes *= 4) {
      const size_t count = bytes / 4;
      const double t = seconds_per_call(world, probe.least, [&] {
        if (member) {
          group.all_reduce(buffer.data(), count, dist::ReduceOp::sum);
        }
      });
      const double x = 2.0 * (g - 1), y = 2.0 * (g - 1) / g * static_cast<double>(bytes);
      const double wgt = 1.0 / (t * t);
      sxx += wgt * x * x;
      sxy += wgt * x * y;
      syy += wgt * y * y;
      sxt += wgt * x * t;
      syt += wgt * y * t;
      if (probe.leader()) {
        probe.log << fmt::format("all_reduce {:>9} bytes over {}: {:>9.1f} us\n", bytes, g,
                                 t * 1e6);
      }
    }
  }
  const double det = sxx * syy - sxy * sxy;
  const double alpha = std::max(1e-7, (sxt * syy - syt * sxy) / det);
  const double beta = std::max(1e-12, (syt * sxx - sxt * sxy) / det);  // seconds per byte
  h.intra = {1.0 / beta / 1e9, alpha * 1e6};
  h.inter = h.intra;
}

// Overlap: a non-blocking all-reduce of 16 MiB against sgemm work of about its length.
void measure_overlap(const Probe& probe, std::vector<float>& buffer, Hardware& h) {
  dist::ProcessGroup& world = probe.world;
  std::vector<float> a(256 * 256, 0.5f), b(256 * 256, 0.25f), c(256 * 256, 0.0f);
  const size_t count = (16u << 20) / 4;
  const double comm = seconds_per_call(
      world, probe.least, [&] { world.all_reduce(buffer.data(), count, dist::ReduceOp::sum); });
  const double one = seconds_per_call(world, probe.least / 4, [&] {
    kernels::gemm<float>(kernels::Trans::no, kernels::Trans::no, 256, 256, 256, 1.0f, a.data(), 256,
                         b.data(), 256, 0.0f, c.data(), 256);
  });
  const int products = std::max(1, static_cast<int>(comm / one));
  auto work = [&](dist::Request* r) {
    for (int i = 0; i < products; ++i) {
      kernels::gemm<float>(kernels::Trans::no, kernels::Trans::no, 256, 256, 256, 1.0f, a.data(),
                           256, b.data(), 256, 0.0f, c.data(), 256);
      if (r != nullptr) {
        r->test();
      }
    }
  };
  const double compute = seconds_per_call(world, probe.least, [&] { work(nullptr); });
  const double both = seconds_per_call(world, probe.least, [&] {
    dist::Request r = world.iall_reduce(buffer.data(), count, dist::ReduceOp::sum);
    work(&r);
    r.wait();
  });
  h.overlap = std::clamp((comm + compute - both) / std::min(comm, compute), 0.0, 1.0);
  if (probe.leader()) {
    probe.log << fmt::format(
        "links: latency {:.2f} us, bandwidth {:.2f} GB/s; overlap {:.2f} (all-reduce {:.1f} ms, "
        "sgemm {:.1f} ms, together {:.1f} ms)\n",
        h.intra.latency_us, h.intra.bandwidth_gbs, h.overlap, comm * 1e3, compute * 1e3,
        both * 1e3);
  }
}

}  // namespace

Hardware calibrate(dist::ProcessGroup& world, const dist::Mesh::Split& split,
                   const CalibrateOptions& options, std::ostream& log) {
  const Probe probe{world, options.seconds_per_point, log};
  Hardware h;
  h.name = options.name;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  h.source = fmt::format("parti bench calibrate: {} ranks at once on {} cores; {}", world.size(),
                         cores, core::describe_compute());
  measure_gemm(probe, h);
  measure_kernels(probe, h);
  const int P = world.size();
  if (P > 1) {
    std::vector<float> buffer((64 << 20) / 4, 1.0f);
    measure_links(probe, split, buffer, h);
    measure_overlap(probe, buffer, h);
  } else {
    h.intra = {1e3, 1.0};  // one rank: no communication to model
    h.inter = h.intra;
    h.overlap = 1.0;
  }
  h.devices_per_node = P;
  h.compute_slots = std::max(1, cores / std::max(1, core::threads()));
  if (probe.leader() && P > h.compute_slots) {
    log << fmt::format(
        "warning: {} ranks on {} compute slots measured shared rates, and the planner shares the "
        "slots again: calibrate with one rank per core (mpirun -np {})\n",
        P, h.compute_slots, h.compute_slots);
  }
  const double ram =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  h.memory_gb = ram / 1073741824.0 / std::max(1, h.compute_slots);
  h.precision = "fp32";
  return h;
}

}  // namespace parti::plan
