// Issue #7, acceptance 1 (bytes) and 2, on real processes (ctest runs it under mpirun at several
// world sizes): the bf16 codec; the bf16 reduction against the same sum computed locally, bit
// for bit, and its bytes; PowerSGD exact on a known low-rank sum, its error feedback identity
// over several steps, its bytes ((rows + cols) x R per matrix, counted by a CountingGroup), the
// plain reduction before --powersgd-start-step and warm-started Q equal on every rank; PowerSGD
// buckets in flight together completed by test() alone, as backward's polls complete them.
// Exit status 1 on any failure (every rank reports its own).
#include "parti/parallel/data/compress.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "parti/core/rng.h"
#include "parti/dist/counting_group.h"
#include "parti/dist/mpi_env.h"

namespace {

using parti::dist::CountingGroup;
using parti::dist::ProcessGroup;
using parti::dist::ReduceOp;
using parti::parallel::data::from_bf16;
using parti::parallel::data::PowerSgd;
using parti::parallel::data::to_bf16;

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

float bits_to_float(uint32_t bits) {
  float x = 0.0f;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

void check_codec() {
  expect(to_bf16(1.0f) == 0x3f80, "1.0");
  expect(to_bf16(-2.0f) == 0xc000, "-2.0");
  // Ties go to the even neighbour; anything above a tie goes up.
  expect(to_bf16(bits_to_float(0x3f808000u)) == 0x3f80, "tie below an even mantissa stays");
  expect(to_bf16(bits_to_float(0x3f818000u)) == 0x3f82, "tie above an odd mantissa goes up");
  expect(to_bf16(bits_to_float(0x3f808001u)) == 0x3f81, "above a tie goes up");
  expect(to_bf16(bits_to_float(0x3f807fffu)) == 0x3f80, "below a tie goes down");
  expect(to_bf16(bits_to_float(0x7f7fffffu)) == 0x7f80, "the largest float rounds to infinity");
  expect(std::isnan(from_bf16(to_bf16(std::nanf("")))), "NaN stays NaN");
  expect(std::isinf(from_bf16(to_bf16(INFINITY))), "infinity stays");
  bool exact = true;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float x = from_bf16(static_cast<uint16_t>(h));
    exact = exact && (std::isnan(x) || to_bf16(x) == h);
  }
  expect(exact, "every bf16 value survives the round trip");
}

// The value rank r holds at element i of step s (each rank can compute every rank's).
float grad(int r, size_t i, int s) {
  return static_cast<float>(
      parti::core::random_normal(7 + static_cast<uint64_t>(s), static_cast<uint64_t>(r), i));
}
double dgrad(int r, size_t i, int s) { return static_cast<double>(grad(r, i, s)); }

void check_bf16(ProcessGroup& world) {
  const int P = world.size();
  for (size_t n : {size_t{1}, size_t{5}, size_t{1000}, size_t{4099}}) {
    CountingGroup counted(world);
    auto bf16 = parti::parallel::data::make_bf16_reduction(counted);
    std::vector<float> g(n + 6, 0.0f);
    for (size_t i = 0; i < n; ++i) g[3 + i] = grad(world.rank(), i, 0);
    auto request = bf16->start(g.data(), 3, 3 + n);
    while (!request.test()) {
    }  // driven by tests alone, as backward's polls drive it
    // Element i belongs to block i / b, whose owner adds the p values in rank order, its own
    // exact, the others rounded, then rounds the sum.
    const size_t b = (n + static_cast<size_t>(P) - 1) / static_cast<size_t>(P);
    bool same = true, close = true;
    for (size_t i = 0; i < n; ++i) {
      const auto owner = static_cast<int>(i / b);
      float sum = 0.0f;
      double exact = 0.0;
      for (int r = 0; r < P; ++r) {
        sum += r == owner ? grad(r, i, 0) : from_bf16(to_bf16(grad(r, i, 0)));
        exact += dgrad(r, i, 0);
      }
      same = same && g[3 + i] == from_bf16(to_bf16(sum));
      close = close &&
              std::abs(static_cast<double>(g[3 + i]) - exact) <= 0.02 * (1.0 + std::abs(exact));
    }
    expect(same,
           "bf16 reduction equals the owner's fp32 sum of bf16 values, n=" + std::to_string(n));
    expect(close, "bf16 reduction is near the exact sum, n=" + std::to_string(n));
    expect(g[2] == 0.0f && g[3 + n] == 0.0f, "bf16 reduction stays inside its range");
    // On the wire: one all-to-all and one all-gather of b 16-bit words per rank and block.
    expect(counted.count("all_to_all_u16").calls == 1 &&
               counted.count("all_to_all_u16").elements == static_cast<long long>(b) &&
               counted.count("all_gather_u16").elements == static_cast<long long>(b) &&
               counted.count("all_reduce").calls == 0,
           "bf16 reduction sends 16-bit words only, n=" + std::to_string(n));
    auto plain = parti::parallel::data::make_plain_reduction(world);
    std::vector<float> h(n, 1.0f);
    plain->start(h.data(), 0, n).wait();
    if (n % static_cast<size_t>(P) == 0) {
      expect(2 * bf16->bytes_sent() == plain->bytes_sent(),
             "bf16 sends half the bytes of fp32, n=" + std::to_string(n));
    }
  }
}

// Several buckets in flight, completed in an order that differs by rank (as backward's polls
// do): each phase's collectives must still pair up bucket by bucket.
void check_buckets_in_flight(ProcessGroup& world) {
  const int P = world.size();
  const size_t n = 3000;
  std::vector<size_t> cuts = {0, 700, 1900, 2400, n};
  auto bf16 = parti::parallel::data::make_bf16_reduction(world);
  std::vector<float> g(n);
  for (size_t i = 0; i < n; ++i) g[i] = grad(world.rank(), i, 3);
  std::vector<parti::dist::Request> requests;
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    requests.push_back(bf16->start(g.data(), cuts[k], cuts[k + 1]));
  }
  const size_t first = static_cast<size_t>(world.rank()) % requests.size();
  requests[first].wait();
  for (size_t k = requests.size(); k-- > 0;) {
    while (!requests[k].test()) {
    }
  }
  bool close = true;
  for (size_t i = 0; i < n; ++i) {
    double exact = 0.0;
    for (int r = 0; r < P; ++r) exact += dgrad(r, i, 3);
    close = close && std::abs(static_cast<double>(g[i]) - exact) <= 0.02 * (1.0 + std::abs(exact));
  }
  expect(close, "bf16 buckets completed out of order on some ranks");
}

// A table: two matrices the compression shrinks, a bias and a small matrix it leaves alone.
parti::model::ParamTable make_table() {
  using parti::model::Init;
  parti::model::ParamTable t;
  t.add("a.weight", {64, 48}, Init::normal, true);
  t.add("a.bias", {17}, Init::zeros, false);
  t.add("b.weight", {30, 40}, Init::normal, true);
  t.add("c.weight", {3, 5}, Init::normal, true);  // (3 + 5) x 4 >= 15: sent whole
  return t;
}

double norm_of_difference(const std::vector<double>& a, const std::vector<float>& b, double* norm) {
  double d = 0.0, n = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = a[i] - static_cast<double>(b[i]);
    d += e * e;
    n += a[i] * a[i];
  }
  *norm = std::sqrt(n);
  return std::sqrt(d);
}

// got equals want up to a relative L2 difference of 1e-5; `what` names the check.
void expect_near(const std::vector<double>& want, const std::vector<float>& got,
                 const std::string& what) {
  double norm = 0.0;
  const double diff = norm_of_difference(want, got, &norm);
  expect(diff <= 1e-5 * norm, what + ": relative difference " + std::to_string(diff / norm));
}

void check_powersgd_low_rank(ProcessGroup& world) {
  const int P = world.size();
  constexpr int R = 4;
  const parti::model::ParamTable table = make_table();
  CountingGroup counted(world);
  PowerSgd psgd(counted, table, R, 0, 1337);
  expect(psgd.compressed(0) && !psgd.compressed(1) && psgd.compressed(2) && !psgd.compressed(3),
         "matrices the factors shrink are compressed, the rest is not");
  // Rank r's gradient of each matrix: U diag(c_r) V^T with U, V common, so the sum has rank R.
  std::vector<float> g(table.total(), 0.0f);
  std::vector<double> want(table.total(), 0.0);
  for (int index : {0, 2, 3}) {
    const auto& s = table.spec(index);
    const auto rows = static_cast<size_t>(s.shape[0]), cols = static_cast<size_t>(s.shape[1]);
    for (int r = 0; r < P; ++r) {
      for (size_t i = 0; i < rows; ++i) {
        for (size_t j = 0; j < cols; ++j) {
          double v = 0.0;
          for (size_t k = 0; k < R; ++k) {
            const double u = parti::core::random_normal(1, 100 + k, i);
            const double w = parti::core::random_normal(1, 200 + k, j);
            v += u * w * (1.0 + 0.5 * r + 0.25 * static_cast<double>(k));
          }
          const auto x = static_cast<float>(v);
          want[s.offset + i * cols + j] += v;
          if (r == world.rank()) g[s.offset + i * cols + j] = x;
        }
      }
    }
  }
  const auto& bias = table.spec(1);
  for (size_t i = 0; i < bias.numel; ++i) {
    for (int r = 0; r < P; ++r) want[bias.offset + i] += dgrad(r, i, 1);
    g[bias.offset + i] = grad(world.rank(), i, 1);
  }
  psgd.set_step(0);
  psgd.start(g.data(), 0, table.total()).wait();
  expect_near(want, g, "PowerSGD of a rank-" + std::to_string(R) + " sum is exact");
  bool bias_exact = true;
  for (size_t i = 0; i < bias.numel; ++i) {
    bias_exact = bias_exact &&
                 std::abs(static_cast<double>(g[bias.offset + i]) - want[bias.offset + i]) <= 1e-5;
  }
  expect(bias_exact, "1-D gradients are reduced uncompressed");
  // Bytes: two all-reduces, of (rows + cols) R per compressed matrix plus everything else.
  size_t expected = table.total();
  for (int index : {0, 2}) {
    const auto& s = table.spec(index);
    expected = expected - s.numel + static_cast<size_t>((s.shape[0] + s.shape[1]) * R);
  }
  expect(counted.count("all_reduce").calls == 2 &&
             counted.count("all_reduce").elements == static_cast<long long>(expected) &&
             psgd.payload(0, table.total()) == expected,
         "PowerSGD sends (rows + cols) x R per matrix: " +
             std::to_string(counted.count("all_reduce").elements) + " elements for " +
             std::to_string(expected));
  const double p = P;
  expect(psgd.bytes_sent() ==
             static_cast<int64_t>(2.0 * (p - 1) / p * static_cast<double>(expected) * 4.0),
         "PowerSGD's bytes_sent is the ring estimate of what it all-reduced");
  // Warm start: every rank keeps the same reduced Q.
  for (auto& [index, st] : psgd.states()) {
    std::vector<float> q = st.q, lo = st.q;
    world.all_reduce(q.data(), q.size(), ReduceOp::max);
    for (float& x : lo) x = -x;
    world.all_reduce(lo.data(), lo.size(), ReduceOp::max);
    bool same = true;
    for (size_t e = 0; e < q.size(); ++e) same = same && q[e] == st.q[e] && -lo[e] == st.q[e];
    expect(same, "Q is the same on every rank after a step, matrix " + std::to_string(index));
  }
}

void check_error_feedback(ProcessGroup& world) {
  const int P = world.size();
  const parti::model::ParamTable table = make_table();
  constexpr int kSteps = 6;
  constexpr int kStart = 2;
  PowerSgd psgd(world, table, 2, kStart, 99);
  std::vector<double> applied(table.total(), 0.0), truth(table.total(), 0.0);
  std::vector<float> g(table.total());
  bool plain_exact = true;
  for (int s = 0; s < kSteps; ++s) {
    for (size_t i = 0; i < g.size(); ++i) {
      g[i] = grad(world.rank(), i, 10 + s);
      for (int r = 0; r < P; ++r) truth[i] += dgrad(r, i, 10 + s);
    }
    psgd.set_step(s);
    psgd.start(g.data(), 0, table.total()).wait();
    for (size_t i = 0; i < g.size(); ++i) {
      applied[i] += static_cast<double>(g[i]);
      if (s < kStart) {
        double sum = 0.0;
        for (int r = 0; r < P; ++r) sum += dgrad(r, i, 10 + s);
        plain_exact = plain_exact &&
                      std::abs(static_cast<double>(g[i]) - sum) <= 1e-5 * (1.0 + std::abs(sum));
      }
    }
  }
  expect(plain_exact, "before --powersgd-start-step the reduction is plain");
  // sum over steps of what was applied + sum over ranks of the final residuals = the true sum.
  std::vector<float> residual(table.total(), 0.0f);
  for (const auto& [index, st] : psgd.states()) {
    const auto& spec = table.spec(index);
    std::copy(st.residual.begin(), st.residual.end(), residual.begin() + spec.offset);
  }
  world.all_reduce(residual.data(), residual.size(), ReduceOp::sum);
  std::vector<float> total(table.total());
  for (size_t i = 0; i < total.size(); ++i) {
    total[i] = static_cast<float>(applied[i] + static_cast<double>(residual[i]));
  }
  expect_near(truth, total, "error feedback: applied + residuals = the true sum");
  // The compression did something: what was applied is not the true sum.
  std::vector<float> applied_f(applied.begin(), applied.end());
  double norm = 0.0;
  const double gap = norm_of_difference(truth, applied_f, &norm);
  expect(P == 1 || gap > 1e-3 * norm, "rank-2 PowerSGD of full-rank gradients is lossy");
}

// PowerSGD buckets (one per tensor of the table) in flight together, started last tensor first
// as backward starts them, and completed by test() alone in an order that differs by rank (as
// backward's polls complete them): each bucket's phases (P, then Q) advance inside test(), and
// the result is the one a single bucket of the whole table waited on gives, up to the sums'
// rounding (an all-reduce of another size may add in another order).
void check_powersgd_driven_by_tests(ProcessGroup& world) {
  const parti::model::ParamTable table = make_table();
  PowerSgd whole(world, table, 2, 0, 7), split(world, table, 2, 0, 7);
  std::vector<float> a(table.total());
  for (size_t i = 0; i < a.size(); ++i) a[i] = grad(world.rank(), i, 20);
  std::vector<float> b = a;
  whole.start(a.data(), 0, table.total()).wait();
  std::vector<parti::dist::Request> requests;
  for (int index = static_cast<int>(table.specs().size()); index-- > 0;) {
    const auto& s = table.spec(index);
    requests.push_back(split.start(b.data(), s.offset, s.offset + s.numel));
  }
  // Bounded by time, not by tests: a peer that shares a core may sleep for a while.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  size_t open = requests.size(), k = static_cast<size_t>(world.rank());
  for (; open > 0 && std::chrono::steady_clock::now() < deadline; ++k) {
    auto& r = requests[k % requests.size()];
    if (!r.empty() && r.test()) --open;
  }
  expect(open == 0, "PowerSGD buckets complete by test() alone");
  // The tensors' elements (the flat buffer pads between them; those the buckets leave alone).
  std::vector<double> want;
  std::vector<float> got;
  for (const auto& s : table.specs()) {
    want.insert(want.end(), a.begin() + static_cast<long>(s.offset),
                a.begin() + static_cast<long>(s.offset + s.numel));
    got.insert(got.end(), b.begin() + static_cast<long>(s.offset),
               b.begin() + static_cast<long>(s.offset + s.numel));
  }
  expect_near(want, got, "PowerSGD buckets completed by tests equal one bucket waited on");
}

}  // namespace

int main(int argc, char** argv) {
  parti::dist::MpiEnv env(&argc, &argv);
  std::unique_ptr<ProcessGroup> world = env.world();
  check_codec();
  check_bf16(*world);
  check_buckets_in_flight(*world);
  check_powersgd_low_rank(*world);
  check_error_feedback(*world);
  check_powersgd_driven_by_tests(*world);
  if (failures > 0) {
    std::fprintf(stderr, "rank %d: %d failures\n", env.rank(), failures);
  }
  return failures > 0 ? 1 : 0;
}
