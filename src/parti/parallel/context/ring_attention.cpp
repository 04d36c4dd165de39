#include "parti/parallel/context/ring_attention.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "parti/core/check.h"
#include "parti/kernels/gemm.h"
#include "parti/kernels/vec_math.h"
#include "parti/parallel/context/chunks.h"

namespace parti::parallel::context {

namespace {

using kernels::gemm;
using kernels::Trans;
using Clock = std::chrono::steady_clock;

constexpr int kTagKv = 7100;   // + step: a key/value block
constexpr int kTagDkv = 7300;  // + step: a block's dK, dV partial sum

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Sizes of one call, in elements.
struct Dims {
  int B, Tl, L, C, NH, HS;
  size_t rows() const { return static_cast<size_t>(B) * static_cast<size_t>(Tl); }
  size_t kv() const { return rows() * 2 * static_cast<size_t>(C); }
  // Offset of row (b, t) in a tensor of `width` columns.
  size_t at(int b, int t, int width) const {
    return (static_cast<size_t>(b) * static_cast<size_t>(Tl) + static_cast<size_t>(t)) *
           static_cast<size_t>(width);
  }
};

Dims dims_of(const dist::ProcessGroup& cp, const RingShape& s) {
  const int parts = 2 * cp.size();
  PARTI_ASSERT(s.T % parts == 0, "sequence of ", s.T, " tokens in ", parts, " chunks");
  PARTI_ASSERT(s.C % s.NH == 0, "width ", s.C, " over ", s.NH, " heads");
  const int L = s.T / parts;
  return {s.B, 2 * L, L, s.C, s.NH, s.C / s.NH};
}

// The k and v columns of qkv (B, Tl, 3C) as one block (B, Tl, 2C): what travels the ring.
void pack_kv(const Dims& d, const float* qkv, float* kv) {
  for (int b = 0; b < d.B; ++b) {
    for (int t = 0; t < d.Tl; ++t) {
      const float* from = qkv + d.at(b, t, 3 * d.C) + d.C;
      std::copy(from, from + 2 * d.C, kv + d.at(b, t, 2 * d.C));
    }
  }
}

// The pairs a step computes: (local query chunk, held key chunk) at or below the diagonal.
struct Pair {
  int qa, ka;
  bool diagonal;
};
std::vector<Pair> pairs_of(const std::array<int, 2>& mine, const std::array<int, 2>& held,
                           RingStats* stats) {
  std::vector<Pair> out;
  for (int qa = 0; qa < 2; ++qa) {
    for (int ka = 0; ka < 2; ++ka) {
      const int cq = mine[static_cast<size_t>(qa)];
      const int ck = held[static_cast<size_t>(ka)];
      if (ck <= cq) {
        out.push_back({qa, ka, ck == cq});
      } else if (stats != nullptr) {
        ++stats->skipped;
      }
    }
  }
  if (stats != nullptr) {
    stats->pairs += static_cast<int>(out.size());
  }
  return out;
}

// A transfer that had arithmetic to hide behind, and whether it was done when that was.
void tally(RingStats* stats, bool done) {
  if (stats != nullptr) {
    ++stats->transfers;
    stats->hidden += done ? 1 : 0;
  }
}

// One ring of C steps: before step s's arithmetic the block of step s + 1 is on its way.
class Ring {
 public:
  Ring(dist::ProcessGroup& cp, size_t block, RingStats* stats)
      : cp_(cp),
        stats_(stats),
        next_((cp.rank() + 1) % cp.size()),
        prev_((cp.rank() + cp.size() - 1) % cp.size()),
        buffers_{std::vector<float>(block), std::vector<float>(block)} {}
  float* held(int step) { return buffers_[static_cast<size_t>(step % 2)].data(); }
  // The rank whose block is held at `step`.
  int source(int step) const { return (cp_.rank() - step % cp_.size() + cp_.size()) % cp_.size(); }
  void start(int step) {
    if (step + 1 >= cp_.size()) {
      return;  // the last block: nothing more to pass on
    }
    recv_ = cp_.irecv(held(step + 1), buffers_[0].size(), prev_, kTagKv + step);
    send_ = cp_.isend(held(step), buffers_[0].size(), next_, kTagKv + step);
    count(buffers_[0].size());
    in_flight_ = true;
  }
  void finish() {
    if (in_flight_) {
      const bool arrived = recv_.test();
      tally(stats_, arrived && send_.test());
      in_flight_ = false;
    }
    const Clock::time_point t0 = Clock::now();
    recv_.wait();
    send_.wait();
    if (stats_ != nullptr) {
      stats_->wait_s += since(t0);
    }
  }
  // Lets MPI move the block in flight while this rank computes (without a progress thread, a
  // large message advances only inside MPI calls). The main thread only (MPI_THREAD_FUNNELED).
  void progress() {
    if (omp_get_thread_num() == 0) {
      recv_.test();
      send_.test();
    }
  }
  void count(size_t elements) {
    if (stats_ != nullptr) {
      stats_->bytes_sent += static_cast<int64_t>(elements * sizeof(float));
    }
  }
  int next() const { return next_; }
  int prev() const { return prev_; }

 private:
  dist::ProcessGroup& cp_;
  RingStats* stats_;
  int next_, prev_;
  std::vector<float> buffers_[2];
  dist::Request recv_, send_;
  bool in_flight_ = false;
};

}  // namespace

void ring_attention_forward(dist::ProcessGroup& cp, const RingShape& shape, float* out, float* lse,
                            const float* qkv, RingStats* stats) {
  const Dims d = dims_of(cp, shape);
  const int P = cp.size();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.HS));
  const std::array<int, 2> mine = cp_chunks(cp.rank(), P, shape.balanced);
  const size_t states = static_cast<size_t>(d.B * d.NH) * static_cast<size_t>(d.Tl);
  std::vector<float> m(states, -std::numeric_limits<float>::infinity()), l(states, 0.0f);
  std::fill(out, out + d.rows() * static_cast<size_t>(d.C), 0.0f);
  Ring ring(cp, d.kv(), stats);
  pack_kv(d, qkv, ring.held(0));
  const auto L = static_cast<size_t>(d.L);
  for (int step = 0; step < P; ++step) {
    ring.start(step);
    const Clock::time_point t0 = Clock::now();
    const std::vector<Pair> pairs =
        pairs_of(mine, cp_chunks(ring.source(step), P, shape.balanced), stats);
    const float* kv = ring.held(step);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < d.B * d.NH; ++bh) {
      thread_local std::vector<float> scores;
      scores.resize(L * L);
      float* S = scores.data();
      const int b = bh / d.NH;
      const int h = bh % d.NH;
      for (const Pair& p : pairs) {
        ring.progress();
        const float* q = qkv + d.at(b, p.qa * d.L, 3 * d.C) + static_cast<size_t>(h * d.HS);
        const float* k = kv + d.at(b, p.ka * d.L, 2 * d.C) + static_cast<size_t>(h * d.HS);
        const float* v = k + d.C;
        float* o = out + d.at(b, p.qa * d.L, d.C) + static_cast<size_t>(h * d.HS);
        gemm<float>(Trans::no, Trans::yes, d.L, d.L, d.HS, scale, q, 3 * d.C, k, 2 * d.C, 0.0f, S,
                    d.L);
        const size_t state =
            static_cast<size_t>(bh) * static_cast<size_t>(d.Tl) + static_cast<size_t>(p.qa) * L;
        for (size_t i = 0; i < L; ++i) {
          float* row = S + i * L;
          const size_t n = p.diagonal ? i + 1 : L;
          float top = row[0];
          for (size_t j = 1; j < n; ++j) top = std::max(top, row[j]);
          const float m_old = m[state + i];
          const float m_new = std::max(m_old, top);
          const float keep = std::exp(m_old - m_new);  // 0 for the first pair of the row
          const float sum = kernels::exp_shifted_sum(row, static_cast<int>(n), m_new);
          std::fill(row + n, row + L, 0.0f);
          l[state + i] = l[state + i] * keep + sum;
          m[state + i] = m_new;
          float* orow = o + i * static_cast<size_t>(d.C);
          for (int e = 0; e < d.HS; ++e) orow[e] *= keep;
        }
        gemm<float>(Trans::no, Trans::no, d.L, d.HS, d.L, 1.0f, S, d.L, v, 2 * d.C, 1.0f, o, d.C);
      }
    }
    if (stats != nullptr) {
      stats->compute_s += since(t0);
      stats->flops +=
          4.0 * static_cast<double>(pairs.size()) * static_cast<double>(L * L) * d.HS * d.B * d.NH;
    }
    ring.finish();
  }
  // out = acc / l, lse = m + log l.
  for (int b = 0; b < d.B; ++b) {
    for (int h = 0; h < d.NH; ++h) {
      const size_t state = static_cast<size_t>(b * d.NH + h) * static_cast<size_t>(d.Tl);
      for (int t = 0; t < d.Tl; ++t) {
        const size_t i = state + static_cast<size_t>(t);
        const float inv = 1.0f / l[i];
        float* orow = out + d.at(b, t, d.C) + static_cast<size_t>(h * d.HS);
        for (int e = 0; e < d.HS; ++e) orow[e] *= inv;
        lse[i] = m[i] + std::log(l[i]);
      }
    }
  }
}

namespace {

// D = rowsum(dout * out) per (b, h) and local token: (B, NH, Tl).
std::vector<float> row_dots(const Dims& d, const float* dout, const float* out) {
  std::vector<float> D(static_cast<size_t>(d.B * d.NH) * static_cast<size_t>(d.Tl));
  for (int b = 0; b < d.B; ++b) {
    for (int h = 0; h < d.NH; ++h) {
      for (int t = 0; t < d.Tl; ++t) {
        const size_t at = d.at(b, t, d.C) + static_cast<size_t>(h * d.HS);
        float dot = 0.0f;
        for (int e = 0; e < d.HS; ++e)
          dot += dout[at + static_cast<size_t>(e)] * out[at + static_cast<size_t>(e)];
        D[static_cast<size_t>(b * d.NH + h) * static_cast<size_t>(d.Tl) + static_cast<size_t>(t)] =
            dot;
      }
    }
  }
  return D;
}

// The tensors backward reads and writes: this rank's qkv and its gradient, the held key/value
// block and its partial dK/dV, dout, the log-sum-exps and D.
struct BackwardTensors {
  const float* qkv;
  float* dqkv;
  const float* kv;
  float* dkv;
  const float* dout;
  const float* lse;
  const float* D;
};

// One (query chunk, key chunk) pair of one (b, h): P = exp(S - lse) again, dV += P^T dO,
// dS = P (dO V^T - D), dQ += dS K / sqrt(HS), dK += dS^T Q / sqrt(HS). Pm, dP: L x L scratch.
void pair_backward(const Dims& d, const Pair& p, int bh, const BackwardTensors& x, float* Pm,
                   float* dP) {
  const auto L = static_cast<size_t>(d.L);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.HS));
  const int b = bh / d.NH;
  const size_t head = static_cast<size_t>((bh % d.NH) * d.HS);
  const float* qkv = x.qkv;
  float* dqkv = x.dqkv;
  const float* kv = x.kv;
  const float* dout = x.dout;
  const float* lse = x.lse;
  const float* D = x.D;
  const float* q = qkv + d.at(b, p.qa * d.L, 3 * d.C) + head;
  float* dq = dqkv + d.at(b, p.qa * d.L, 3 * d.C) + head;
  const float* k = kv + d.at(b, p.ka * d.L, 2 * d.C) + head;
  const float* v = k + d.C;
  float* dk = x.dkv + d.at(b, p.ka * d.L, 2 * d.C) + head;
  float* dv = dk + d.C;
  const float* dy = dout + d.at(b, p.qa * d.L, d.C) + head;
  const size_t state =
      static_cast<size_t>(bh) * static_cast<size_t>(d.Tl) + static_cast<size_t>(p.qa) * L;
  gemm<float>(Trans::no, Trans::yes, d.L, d.L, d.HS, scale, q, 3 * d.C, k, 2 * d.C, 0.0f, Pm, d.L);
  for (size_t i = 0; i < L; ++i) {
    float* row = Pm + i * L;
    const size_t n = p.diagonal ? i + 1 : L;
    kernels::exp_shifted_sum(row, static_cast<int>(n), lse[state + i]);
    std::fill(row + n, row + L, 0.0f);
  }
  // dV += P^T dO;  dP = dO V^T;  dS = P (dP - D), in place of dP.
  gemm<float>(Trans::yes, Trans::no, d.L, d.HS, d.L, 1.0f, Pm, d.L, dy, d.C, 1.0f, dv, 2 * d.C);
  gemm<float>(Trans::no, Trans::yes, d.L, d.L, d.HS, 1.0f, dy, d.C, v, 2 * d.C, 0.0f, dP, d.L);
  for (size_t i = 0; i < L; ++i) {
    const float Di = D[state + i];
    for (size_t j = 0; j < L; ++j) dP[i * L + j] = Pm[i * L + j] * (dP[i * L + j] - Di);
  }
  // dQ += dS K scale;  dK += dS^T Q scale.
  gemm<float>(Trans::no, Trans::no, d.L, d.HS, d.L, scale, dP, d.L, k, 2 * d.C, 1.0f, dq, 3 * d.C);
  gemm<float>(Trans::yes, Trans::no, d.L, d.HS, d.L, scale, dP, d.L, q, 3 * d.C, 1.0f, dk, 2 * d.C);
}

// dqkv's k and v columns += this rank's own block's complete dK, dV (B, Tl, 2C).
void unpack_dkv(const Dims& d, const float* total, float* dqkv) {
  for (int b = 0; b < d.B; ++b) {
    for (int t = 0; t < d.Tl; ++t) {
      const float* from = total + d.at(b, t, 2 * d.C);
      float* to = dqkv + d.at(b, t, 3 * d.C) + d.C;
      for (int e = 0; e < 2 * d.C; ++e) to[e] += from[e];
    }
  }
}

}  // namespace

void ring_attention_backward(dist::ProcessGroup& cp, const RingShape& shape, float* dqkv,
                             const float* dout, const float* qkv, const float* out,
                             const float* lse, RingStats* stats) {
  const Dims d = dims_of(cp, shape);
  const int P = cp.size();
  const std::array<int, 2> mine = cp_chunks(cp.rank(), P, shape.balanced);
  const auto L = static_cast<size_t>(d.L);
  const std::vector<float> D = row_dots(d, dout, out);
  Ring ring(cp, d.kv(), stats);
  pack_kv(d, qkv, ring.held(0));
  // This step's contribution to the held block's dK, dV (two buffers: the one sent last step may
  // still be on its way) and the partial sum arriving from the previous rank.
  std::vector<float> partial[2] = {std::vector<float>(d.kv()), std::vector<float>(d.kv())};
  std::vector<float> incoming(d.kv());
  dist::Request sent[2], received;
  for (int step = 0; step < P; ++step) {
    ring.start(step);
    if (step > 0) {
      received = cp.irecv(incoming.data(), incoming.size(), ring.prev(), kTagDkv + step - 1);
    }
    std::vector<float>& dkv = partial[step % 2];
    sent[step % 2].wait();
    std::fill(dkv.begin(), dkv.end(), 0.0f);
    const Clock::time_point t0 = Clock::now();
    const std::vector<Pair> pairs =
        pairs_of(mine, cp_chunks(ring.source(step), P, shape.balanced), stats);
    const float* kv = ring.held(step);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < d.B * d.NH; ++bh) {
      thread_local std::vector<float> scratch;
      scratch.resize(2 * L * L);
      float* Pm = scratch.data();
      float* dP = Pm + L * L;
      for (const Pair& p : pairs) {
        ring.progress();
        if (omp_get_thread_num() == 0) {
          received.test();  // the previous rank's partial sum
          sent[(step + 1) % 2].test();
        }
        pair_backward(d, p, bh, {qkv, dqkv, kv, dkv.data(), dout, lse, D.data()}, Pm, dP);
      }
    }
    if (stats != nullptr) {
      stats->compute_s += since(t0);
      stats->flops +=
          10.0 * static_cast<double>(pairs.size()) * static_cast<double>(L * L) * d.HS * d.B * d.NH;
    }
    // The previous ranks' sum for this block joins ours and goes on (to the owner after the last
    // step).
    if (step > 0) {
      tally(stats, received.test());
      const Clock::time_point w0 = Clock::now();
      received.wait();
      if (stats != nullptr) stats->wait_s += since(w0);
      for (size_t i = 0; i < dkv.size(); ++i) dkv[i] += incoming[i];
    }
    if (P > 1) {
      sent[step % 2] = cp.isend(dkv.data(), dkv.size(), ring.next(), kTagDkv + step);
      ring.count(dkv.size());
    }
    ring.finish();
  }
  // This rank's own block, complete: from the previous rank (or, alone, our own sum).
  const float* total = partial[(P - 1) % 2].data();
  if (P > 1) {
    const Clock::time_point w0 = Clock::now();
    cp.irecv(incoming.data(), incoming.size(), ring.prev(), kTagDkv + P - 1).wait();
    if (stats != nullptr) stats->tail_s += since(w0);
    total = incoming.data();
  }
  unpack_dkv(d, total, dqkv);
  sent[0].wait();
  sent[1].wait();
}

void ring_attention_forward(const ContextParallel& cp, int B, int T, int C, int NH, float* out,
                            float* lse, const float* qkv) {
  ring_attention_forward(*cp.group, {B, T, C, NH, cp.balanced}, out, lse, qkv, cp.stats);
}

void ring_attention_backward(const ContextParallel& cp, int B, int T, int C, int NH, float* dqkv,
                             const float* dout, const float* qkv, const float* out,
                             const float* lse) {
  ring_attention_backward(*cp.group, {B, T, C, NH, cp.balanced}, dqkv, dout, qkv, out, lse,
                          cp.stats);
}

}  // namespace parti::parallel::context
