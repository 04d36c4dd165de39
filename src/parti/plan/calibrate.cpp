#include "parti/plan/calibrate.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <ostream>
#include <set>
#include <thread>
#include <vector>

#include "parti/core/cpu.h"
#include "parti/kernels/adamw.h"
#include "parti/kernels/attention.h"
#include "parti/kernels/gelu.h"
#include "parti/kernels/gemm.h"
#include "parti/kernels/layernorm.h"
#include "parti/parallel/context/ring_attention.h"
#include "parti/plan/activations.h"

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

// Where the ranks run: the node of each (ranks that share a host name) and the machine (nodes
// that share a kernel, /proc/sys/kernel/random/boot_id: simulated nodes of scripts/cluster).
struct Topology {
  int nodes = 1, ranks_per_node = 1, nodes_per_machine = 1;
  int node = 0, local = 0;  // this rank's node and its index there
  int machine_ranks = 1;    // the ranks on this rank's machine
  bool regular = true;      // every node has as many ranks, placed in order (mpirun by slot)
};

double hash_of(const std::string& text) {
  return static_cast<double>(std::hash<std::string>{}(text) & ((uint64_t{1} << 52) - 1));
}

// Every rank's value of `mine`, in rank order.
std::vector<double> gather(dist::ProcessGroup& world, double mine) {
  std::vector<double> all(static_cast<size_t>(world.size()), 0.0);
  all[static_cast<size_t>(world.rank())] = mine;
  world.all_reduce(all.data(), all.size(), dist::ReduceOp::sum);
  return all;
}

// The index of each value's first occurrence among the distinct values, in order.
std::vector<int> first_seen(const std::vector<double>& values) {
  std::vector<double> seen;
  std::vector<int> out;
  for (double v : values) {
    const auto at = std::find(seen.begin(), seen.end(), v);
    out.push_back(static_cast<int>(at - seen.begin()));
    if (at == seen.end()) seen.push_back(v);
  }
  return out;
}

Topology topology(dist::ProcessGroup& world) {
  std::array<char, 256> host{};
  ::gethostname(host.data(), host.size() - 1);
  std::ifstream boot_file("/proc/sys/kernel/random/boot_id");
  std::string boot;
  std::getline(boot_file, boot);
  const std::vector<int> node = first_seen(gather(world, hash_of(host.data())));
  const std::vector<int> machine = first_seen(gather(world, hash_of(boot)));
  const int P = world.size(), me = world.rank();
  Topology t;
  t.nodes = *std::max_element(node.begin(), node.end()) + 1;
  t.ranks_per_node = P / t.nodes;
  for (int r = 0; r < P; ++r) {
    t.regular = t.regular && P % t.nodes == 0 && node[r] == r / t.ranks_per_node;
  }
  t.node = node[me];
  t.local = static_cast<int>(std::count(node.begin(), node.begin() + me, node[me]));
  t.machine_ranks = static_cast<int>(std::count(machine.begin(), machine.end(), machine[me]));
  std::vector<int> nodes_of_my_machine;
  for (int r = 0; r < P; ++r) {
    if (machine[r] == machine[me]) nodes_of_my_machine.push_back(node[r]);
  }
  t.nodes_per_machine = static_cast<int>(
      std::set<int>(nodes_of_my_machine.begin(), nodes_of_my_machine.end()).size());
  return t;
}

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
    h.attention_includes_scores = true;  // the kernel writes and reads its probabilities
    if (probe.leader()) {
      probe.log << fmt::format("attention (B {} T {} C {} NH {}): {:.1f} GFLOP/s full-square\n", B,
                               T, C, NH, flops / s / 1e9);
    }
  }
  {
    // The kernel that keeps only the log-sum-exp: ring attention's pairs on one rank (its two
    // chunks: 3 of the 4 chunk pairs, which the time model charges against the plain kernel's
    // half square), backward making the scores again: the full-square count times 3.5.
    const int B = 4, T = 1024, C = 384, NH = 6;
    const size_t BT = static_cast<size_t>(B) * T;
    std::vector<float> qkv(BT * 3 * C, 0.01f), out(BT * C), lse(BT * NH), dqkv(BT * 3 * C),
        dout(BT * C, 0.001f);
    const auto self = dist::make_self_group("calibrate");
    const parallel::context::RingShape shape{B, T, C, NH};
    const double s = seconds_per_call(probe.world, probe.least, [&] {
      parallel::context::ring_attention_forward(*self, shape, out.data(), lse.data(), qkv.data());
      parallel::context::ring_attention_backward(*self, shape, dqkv.data(), dout.data(), qkv.data(),
                                                 out.data(), lse.data());
    });
    const double flops =
        3.5 * 4.0 * B * T * static_cast<double>(T) * C * ring_square_share(1) / 0.5;
    h.flash_attention_tflops["fp32"] = flops / s / 1e12;
    if (probe.leader()) {
      probe.log << fmt::format(
          "attention keeping the log-sum-exp (ring pairs, B {} T {} C {} NH {}): {:.1f} GFLOP/s "
          "full-square\n",
          B, T, C, NH, flops / s / 1e9);
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

// Alpha-beta fit of all-reduce times: least squares of t = a x + b y over x = 2 (g - 1),
// y = 2 (g - 1) / g bytes, each point weighted by 1 / t^2 (relative errors).
struct LinkFit {
  double sxx = 0, sxy = 0, syy = 0, sxt = 0, syt = 0;
  void add(int g, size_t bytes, double t) {
    const double x = 2.0 * (g - 1), y = 2.0 * (g - 1) / g * static_cast<double>(bytes);
    const double wgt = 1.0 / (t * t);
    sxx += wgt * x * x;
    sxy += wgt * x * y;
    syy += wgt * y * y;
    sxt += wgt * x * t;
    syt += wgt * y * t;
  }
  Link link() const {
    const double det = sxx * syy - sxy * sxy;
    const double alpha = std::max(1e-7, (sxt * syy - syt * sxy) / det);
    const double beta = std::max(1e-12, (syt * sxx - sxt * sxy) / det);  // seconds per byte
    return {1.0 / beta / 1e9, alpha * 1e6};
  }
};

// All-reduce from `least` (4 KiB) to `most` (64 MiB) bytes over groups of g ranks, every group at
// once: `color` is this rank's group (P: none, it only joins the timing's barriers), `key` its
// place there.
void time_groups(const Probe& probe, const dist::Mesh::Split& split, std::vector<float>& buffer,
                 int g, int color, int key, const std::string& what, LinkFit& fit,
                 size_t least = 4096, size_t most = 64u << 20) {
  dist::ProcessGroup& world = probe.world;
  const int P = world.size();
  std::unique_ptr<dist::ProcessGroup> sub;
  if (g < P) {
    sub = split(color, key, fmt::format("calibrate-{}{}", what, g));
  }
  dist::ProcessGroup& group = g < P ? *sub : world;
  for (size_t bytes = least; bytes <= most; bytes *= 4) {
    const size_t count = bytes / 4;
    const double t = seconds_per_call(world, probe.least, [&] {
      if (color < P) {
        group.all_reduce(buffer.data(), count, dist::ReduceOp::sum);
      }
    });
    fit.add(g, bytes, t);
    if (probe.leader()) {
      probe.log << fmt::format("all_reduce {:>9} bytes over {} ({}): {:>9.1f} us\n", bytes, g, what,
                               t * 1e6);
    }
  }
}

// Group sizes 2, 4, ... below n, and n.
std::vector<int> group_sizes(int n) {
  std::vector<int> sizes;
  for (int g = 2; g < n; g *= 2) {
    sizes.push_back(g);
  }
  sizes.push_back(n);
  return sizes;
}

// One node: groups of 2, 4, ... consecutive ranks and the world, one fit for both links. Several
// nodes: groups inside each node (consecutive ranks) fit the intra-node link, groups of one rank
// per node (the same index on each, every index at once, sharing the node's link as data
// parallelism across nodes does) the inter-node one.
void measure_links(const Probe& probe, const dist::Mesh::Split& split, const Topology& topo,
                   std::vector<float>& buffer, Hardware& h) {
  const int P = probe.world.size(), me = probe.world.rank();
  if (topo.nodes == 1 || !topo.regular) {
    LinkFit fit;
    for (int g : split ? group_sizes(P) : std::vector<int>{P}) {
      const bool member = me / g < P / g;
      time_groups(probe, split, buffer, g, member ? me / g : P, me, "ranks", fit);
    }
    h.intra = h.inter = fit.link();
    return;
  }
  const int R = topo.ranks_per_node;
  if (R > 1) {
    LinkFit fit;
    for (int g : group_sizes(R)) {
      const bool member = topo.local / g < R / g;
      time_groups(probe, split, buffer, g, member ? me / g : P, me, "inside nodes", fit);
    }
    h.intra = fit.link();
  }
  LinkFit fit;
  for (int g : group_sizes(topo.nodes)) {
    const bool member = topo.node / g < topo.nodes / g;
    const int color = member ? (topo.node / g) * R + topo.local : P;
    time_groups(probe, split, buffer, g, color, me, "between nodes", fit);
  }
  h.inter = fit.link();
  if (R == 1) {
    h.intra = h.inter;  // no two ranks share a node: nothing runs on the intra-node link
    return;
  }
  // The first rank of each node alone (1-16 MiB: the bandwidth): how many of a node's ranks
  // share its network link.
  LinkFit alone;
  time_groups(probe, split, buffer, topo.nodes, topo.local == 0 ? 0 : P, me,
              "between nodes, one rank each", alone, 1u << 20, 16u << 20);
  const double ratio = alone.link().bandwidth_gbs / h.inter.bandwidth_gbs;
  h.inter.nic_ranks = std::clamp(static_cast<int>(std::lround(ratio)), 1, R);
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
        "links: inside a node {:.2f} us + {:.3f} GB/s, between nodes {:.2f} us + {:.3f} GB/s; "
        "overlap {:.2f} (all-reduce {:.1f} ms, sgemm {:.1f} ms, together {:.1f} ms)\n",
        h.intra.latency_us, h.intra.bandwidth_gbs, h.inter.latency_us, h.inter.bandwidth_gbs,
        h.overlap, comm * 1e3, compute * 1e3, both * 1e3);
  }
}

// Whether a large point-to-point message moves while its sender computes. In each pair the
// sender posts 1 MiB, then multiplies without calling MPI for several times the message's time
// on the link; the receiver times its arrival. Arriving after 80% of that (the median of three
// trials), it waited for its sender to enter MPI again (TCP without a progress thread).
bool sends_need_sender(const Probe& probe, int peer, bool sender, const Link& link,
                       std::vector<float>& buffer) {
  const size_t count = (1u << 20) / 4;
  const double busy = std::max(
      0.05, 5 * (link.latency_us * 1e-6 + static_cast<double>(count) * 4e-9 / link.bandwidth_gbs));
  std::vector<float> a(256 * 256, 0.5f), b(256 * 256, 0.25f), c(256 * 256, 0.0f);
  std::vector<double> late;
  for (int trial = 0; trial < 3; ++trial) {
    probe.world.barrier();
    double arrived = 0;
    const double t0 = now();
    if (peer >= 0 && sender) {
      dist::Request r = probe.world.isend(buffer.data(), count, peer, 7);
      while (now() - t0 < busy) {
        kernels::gemm<float>(kernels::Trans::no, kernels::Trans::no, 256, 256, 256, 1.0f, a.data(),
                             256, b.data(), 256, 0.0f, c.data(), 256);
      }
      r.wait();
    } else if (peer >= 0) {
      probe.world.irecv(buffer.data() + count, count, peer, 7).wait();
      arrived = (now() - t0) / busy;
    }
    probe.world.all_reduce(&arrived, 1, dist::ReduceOp::max);
    late.push_back(arrived);
  }
  std::sort(late.begin(), late.end());
  return late[1] > 0.8;
}

// Pairs inside a node (neighbouring local indices) and between nodes (the same local index on
// neighbouring nodes), each measured with every pair at once.
void measure_send_progress(const Probe& probe, const Topology& topo, std::vector<float>& buffer,
                           Hardware& h) {
  const int me = probe.world.rank(), P = probe.world.size();
  if (topo.nodes == 1 || !topo.regular) {
    const int peer = (me ^ 1) < P ? me ^ 1 : -1;
    h.intra.sends_need_sender = sends_need_sender(probe, peer, me % 2 == 0, h.intra, buffer);
    h.inter.sends_need_sender = h.intra.sends_need_sender;
  } else {
    const int R = topo.ranks_per_node;
    if (R > 1) {
      const int peer = (topo.local ^ 1) < R ? me - topo.local + (topo.local ^ 1) : -1;
      h.intra.sends_need_sender =
          sends_need_sender(probe, peer, topo.local % 2 == 0, h.intra, buffer);
    }
    const int other = topo.node ^ 1;
    const int peer = other < topo.nodes ? me + (other - topo.node) * R : -1;
    h.inter.sends_need_sender = sends_need_sender(probe, peer, topo.node % 2 == 0, h.inter, buffer);
    if (R == 1) {
      h.intra.sends_need_sender = h.inter.sends_need_sender;
    }
  }
  if (probe.leader()) {
    const auto says = [](bool need) {
      return need ? "wait for their sender" : "move on their own";
    };
    probe.log << fmt::format(
        "sends: inside a node {}, between nodes {}; {} of a node's ranks share its network link\n",
        says(h.intra.sends_need_sender), says(h.inter.sends_need_sender), h.inter.nic_ranks);
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
  const Topology topo = topology(world);
  const int machine_slots = std::max(1, cores / std::max(1, core::threads()));
  if (topo.nodes > 1) {
    h.source += fmt::format("; {} nodes x {} ranks ({} nodes per machine)", topo.nodes,
                            topo.ranks_per_node, topo.nodes_per_machine);
  }
  if (probe.leader() && !topo.regular) {
    log << "warning: the nodes hold different numbers of ranks, or not in rank order: one link "
           "fitted for all\n";
  }
  measure_gemm(probe, h);
  measure_kernels(probe, h);
  // More ranks than cores on a machine measured a share of a core each; the planner shares the
  // slots itself (node.compute_slots), so the profile keeps a core's rates.
  const double shared = std::max(1.0, 1.0 * topo.machine_ranks / machine_slots);
  if (shared > 1) {
    for (auto* rates : {&h.matmul_tflops, &h.attention_tflops, &h.flash_attention_tflops}) {
      for (auto& [dtype, rate] : *rates) rate *= shared;
    }
    h.memory_bandwidth_gbs *= shared;
    h.optimizer_gbs *= shared;
    if (probe.leader()) {
      log << fmt::format("{} ranks on {} cores: compute rates above x {:.2f} for one core\n",
                         topo.machine_ranks, machine_slots, shared);
    }
  }
  const int P = world.size();
  if (P > 1) {
    std::vector<float> buffer((64 << 20) / 4, 1.0f);
    measure_links(probe, split, topo, buffer, h);
    measure_overlap(probe, buffer, h);
    measure_send_progress(probe, topo, buffer, h);
  } else {
    h.intra = {1e3, 1.0};  // one rank: no communication to model
    h.inter = h.intra;
    h.overlap = 1.0;
  }
  h.devices_per_node = topo.regular ? topo.ranks_per_node : P;
  h.compute_slots = std::max(1, machine_slots / topo.nodes_per_machine);
  const double ram =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  h.memory_gb = ram / 1073741824.0 / std::max(1, h.compute_slots);
  h.precision = "fp32";
  return h;
}

}  // namespace parti::plan
