#include "parti/parallel/data/compress.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "parti/core/check.h"
#include "parti/core/rng.h"
#include "parti/kernels/gemm.h"

namespace parti::parallel::data {

Compression parse_compression(const std::string& name) {
  if (name == "none") return Compression::none;
  if (name == "bf16") return Compression::bf16;
  if (name == "powersgd") return Compression::powersgd;
  PARTI_CHECK(false, ConfigError, "--grad-compress ", name, ": use none, bf16 or powersgd");
  return Compression::none;
}

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::bf16:
      return "bf16";
    case Compression::powersgd:
      return "powersgd";
    case Compression::none:
      break;
  }
  return "none";
}

uint16_t to_bf16(float x) {
  uint32_t bits = 0;
  std::memcpy(&bits, &x, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);  // NaN: keep it quiet and a NaN
  }
  bits += 0x7fffu + ((bits >> 16) & 1u);  // to nearest, ties to even (may carry into infinity)
  return static_cast<uint16_t>(bits >> 16);
}

float from_bf16(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x = 0.0f;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

BucketReduction::BucketReduction(dist::ProcessGroup& group, int phases) : group_(&group) {
  for (int j = 1; j < phases; ++j) {
    phase_groups_.push_back(group.duplicate(str_cat(group.name(), "/phase", j)));
  }
}

BucketReduction::~BucketReduction() = default;

void BucketReduction::count(double factor, size_t elements, size_t element_bytes) {
  const double p = group_->size();
  bytes_ += static_cast<int64_t>(factor * (p - 1) / p * static_cast<double>(elements) *
                                 static_cast<double>(element_bytes));
}

dist::ProcessGroup& BucketReduction::phase_group(int phase) {
  PARTI_ASSERT(phase >= 0 && phase <= static_cast<int>(phase_groups_.size()), "phase ", phase);
  return phase == 0 ? *group_ : *phase_groups_[static_cast<size_t>(phase - 1)];
}

struct BucketReduction::Job {
  dist::Request current;  // the collective of `phase`
  int phase = 0;
  bool done = false;
  Step step;
};

class BucketReduction::JobRequest final : public dist::Request::Impl {
 public:
  JobRequest(BucketReduction& owner, std::shared_ptr<Job> job)
      : owner_(owner), job_(std::move(job)) {}
  void wait() override { owner_.complete(*job_); }
  bool test() override {
    owner_.progress();
    return job_->done;
  }

 private:
  BucketReduction& owner_;
  std::shared_ptr<Job> job_;
};

dist::Request BucketReduction::launch(dist::Request first, Step step) {
  auto job = std::make_shared<Job>();
  job->current = std::move(first);
  job->step = std::move(step);
  jobs_.push_back(job);
  progress();
  return dist::Request(std::make_unique<JobRequest>(*this, std::move(job)));
}

void BucketReduction::progress() {
  // A bucket starts phase j only after the bucket before it has (or is done), so every phase
  // group sees the buckets in the same order on every rank.
  int limit = std::numeric_limits<int>::max();
  for (const auto& job : jobs_) {
    while (!job->done && job->phase < limit && job->current.test()) {
      std::optional<dist::Request> next = job->step(job->phase + 1);
      if (next) {
        job->current = std::move(*next);
        ++job->phase;
      } else {
        job->done = true;
        job->step = nullptr;  // frees the bucket's buffers
      }
    }
    limit = job->done ? limit : job->phase;
  }
  while (!jobs_.empty() && jobs_.front()->done) {
    jobs_.pop_front();
  }
}

void BucketReduction::complete(const Job& job) {
  progress();
  while (!job.done) {
    // The oldest bucket waits on nobody: its collective completes, then it advances.
    jobs_.front()->current.wait();
    progress();
  }
}

namespace {

class PlainReduction final : public BucketReduction {
 public:
  explicit PlainReduction(dist::ProcessGroup& group) : BucketReduction(group, 1) {}
  dist::Request start(float* grads, size_t begin, size_t end) override {
    count(2.0, end - begin, sizeof(float));
    return group_->iall_reduce(grads + begin, end - begin, dist::ReduceOp::sum);
  }
};

class Bf16Reduction final : public BucketReduction {
 public:
  explicit Bf16Reduction(dist::ProcessGroup& group) : BucketReduction(group, 2) {}
  dist::Request start(float* grads, size_t begin, size_t end) override {
    const auto p = static_cast<size_t>(group_->size());
    const auto me = static_cast<size_t>(group_->rank());
    const size_t n = end - begin;
    const size_t block = (n + p - 1) / p;  // the bucket padded to p equal blocks
    struct Buffers {
      std::vector<uint16_t> out, in;
    };
    auto b = std::make_shared<Buffers>();
    b->out.assign(p * block, 0);
    b->in.assign(p * block, 0);
    float* g = grads + begin;
    for (size_t i = 0; i < n; ++i) {
      b->out[i] = to_bf16(g[i]);
    }
    count(1.0, p * block, sizeof(uint16_t));
    dist::Request first = group_->iall_to_all(b->out.data(), b->in.data(), block);
    auto step = [this, b, g, n, p, me, block](int phase) -> std::optional<dist::Request> {
      if (phase == 1) {
        // This rank's block: the p contributions summed in fp32 in rank order (its own exact),
        // rounded once for the all-gather.
        const size_t lo = me * block;
        for (size_t i = 0; i < block; ++i) {
          float sum = 0.0f;
          for (size_t r = 0; r < p; ++r) {
            sum += r == me ? (lo + i < n ? g[lo + i] : 0.0f) : from_bf16(b->in[r * block + i]);
          }
          b->out[lo + i] = to_bf16(sum);
        }
        count(1.0, p * block, sizeof(uint16_t));
        return phase_group(1).iall_gather(b->out.data() + lo, b->out.data(), block);
      }
      for (size_t i = 0; i < n; ++i) {
        g[i] = from_bf16(b->out[i]);
      }
      return std::nullopt;
    };
    return launch(std::move(first), std::move(step));
  }
};

// Modified Gram-Schmidt on the R columns of a row-major (rows x R) matrix, in double; a column
// with nothing left after the projections becomes zero (it then carries nothing).
void orthonormalize(float* a, size_t rows, size_t R) {
  std::vector<double> col(rows), prev(rows);
  for (size_t j = 0; j < R; ++j) {
    for (size_t i = 0; i < rows; ++i) col[i] = static_cast<double>(a[i * R + j]);
    for (size_t k = 0; k < j; ++k) {
      double dot = 0.0;
      for (size_t i = 0; i < rows; ++i) {
        prev[i] = static_cast<double>(a[i * R + k]);
        dot += prev[i] * col[i];
      }
      for (size_t i = 0; i < rows; ++i) col[i] -= dot * prev[i];
    }
    double norm = 0.0;
    for (size_t i = 0; i < rows; ++i) norm += col[i] * col[i];
    norm = std::sqrt(norm);
    const double scale = norm > 1e-30 ? 1.0 / norm : 0.0;
    for (size_t i = 0; i < rows; ++i) a[i * R + j] = static_cast<float>(col[i] * scale);
  }
}

int as_int(size_t n) {
  PARTI_ASSERT(n <= static_cast<size_t>(INT32_MAX), "matrix dimension ", n, " is too large");
  return static_cast<int>(n);
}

}  // namespace

std::unique_ptr<BucketReduction> make_plain_reduction(dist::ProcessGroup& group) {
  return std::make_unique<PlainReduction>(group);
}

std::unique_ptr<BucketReduction> make_bf16_reduction(dist::ProcessGroup& group) {
  return std::make_unique<Bf16Reduction>(group);
}

PowerSgd::PowerSgd(dist::ProcessGroup& group, const model::ParamTable& table, int rank,
                   int start_step, uint64_t seed)
    : BucketReduction(group, 2), table_(table), rank_(rank), start_step_(start_step), seed_(seed) {
  PARTI_CHECK(rank >= 1, ConfigError, "--powersgd-rank ", rank, " must be at least 1");
  const auto R = static_cast<size_t>(rank);
  for (int i = 0; i < static_cast<int>(table.specs().size()); ++i) {
    const model::ParamSpec& s = table.spec(i);
    if (s.shape.size() != 2) {
      continue;
    }
    const auto rows = static_cast<size_t>(s.shape[0]);
    const auto cols = static_cast<size_t>(s.shape[1]);
    if ((rows + cols) * R >= rows * cols) {
      continue;  // the factors would not be smaller than the matrix
    }
    State st{rows, cols, std::vector<float>(cols * R), std::vector<float>(rows * cols, 0.0f)};
    draw_q(i, st);
    states_.emplace(i, std::move(st));
  }
}

void PowerSgd::draw_q(int index, State& st) const {
  // Q from the seed, the parameter's name and this rank's tensor-parallel part: the same on
  // every rank of the dp group (they hold the same part), different across parts.
  const model::ParamSpec& s = table_.spec(index);
  const uint64_t stream = core::name_stream(s.name + ".powersgd_q") +
                          static_cast<uint64_t>(s.part_index()) * 0x9e3779b9u;
  for (size_t e = 0; e < st.q.size(); ++e) {
    st.q[e] = static_cast<float>(core::random_normal(seed_, stream, e));
  }
}

void PowerSgd::reset_state() {
  for (auto& [index, st] : states_) {
    std::fill(st.residual.begin(), st.residual.end(), 0.0f);
    draw_q(index, st);
  }
}

size_t PowerSgd::state_bytes() const {
  size_t n = 0;
  for (const auto& [i, st] : states_) {
    n += (st.q.size() + st.residual.size()) * sizeof(float);
  }
  return n;
}

size_t PowerSgd::payload(size_t begin, size_t end) const {
  size_t n = end - begin;
  const auto R = static_cast<size_t>(rank_);
  for (const auto& [i, st] : states_) {
    const model::ParamSpec& s = table_.spec(i);
    if (s.offset >= begin && s.offset + s.numel <= end) {
      n = n - s.numel + (st.rows + st.cols) * R;
    }
  }
  return n;
}

namespace {

// A PowerSGD bucket: its compressed matrices, in buffer order, and the plain ranges between them.
struct PsgdMatrix {
  PowerSgd::State* st;
  size_t offset;
  size_t p_at, q_at;  // of its P in the first message, its Q in the second
};
struct PsgdBucket {
  std::vector<PsgdMatrix> matrices;
  std::vector<std::pair<size_t, size_t>> plain;  // [begin, end) of the buffer
  std::vector<float> first, second;              // [P's | plain values], [Q's]
  size_t p_size = 0;                             // of first: the P's
};

// The bucket [begin, end) of the gradient buffer, its messages sized for rank R.
std::shared_ptr<PsgdBucket> plan_bucket(std::map<int, PowerSgd::State>& states,
                                        const model::ParamTable& table, size_t begin, size_t end,
                                        size_t R) {
  auto job = std::make_shared<PsgdBucket>();
  for (auto& [i, st] : states) {
    const model::ParamSpec& s = table.spec(i);
    const bool inside = s.offset >= begin && s.offset + s.numel <= end;
    PARTI_ASSERT(inside || s.offset + s.numel <= begin || s.offset >= end, "parameter ", s.name,
                 " straddles the bucket [", begin, ", ", end, ")");
    if (inside) {
      job->matrices.push_back({&st, s.offset, 0, 0});
    }
  }
  std::sort(job->matrices.begin(), job->matrices.end(),
            [](const PsgdMatrix& a, const PsgdMatrix& b) { return a.offset < b.offset; });
  size_t at = begin, q_size = 0;
  for (PsgdMatrix& m : job->matrices) {
    if (m.offset > at) job->plain.emplace_back(at, m.offset);
    at = m.offset + m.st->rows * m.st->cols;
    m.p_at = job->p_size;
    m.q_at = q_size;
    job->p_size += m.st->rows * R;
    q_size += m.st->cols * R;
  }
  if (end > at) job->plain.emplace_back(at, end);
  size_t plain_size = 0;
  for (const auto& [lo, hi] : job->plain) plain_size += hi - lo;
  job->first.resize(job->p_size + plain_size);
  job->second.resize(q_size);
  return job;
}

}  // namespace

dist::Request PowerSgd::start(float* grads, size_t begin, size_t end) {
  if (step_ < start_step_) {
    count(2.0, end - begin, sizeof(float));
    return group_->iall_reduce(grads + begin, end - begin, dist::ReduceOp::sum);
  }
  auto job = plan_bucket(states_, table_, begin, end, static_cast<size_t>(rank_));
  const size_t p_size = job->p_size;

  // M = G + E (kept in E until the end), P = M Q.
  for (PsgdMatrix& m : job->matrices) {
    State& st = *m.st;
    const float* g = grads + m.offset;
    for (size_t e = 0; e < st.residual.size(); ++e) st.residual[e] += g[e];
    kernels::gemm<float>(kernels::Trans::no, kernels::Trans::no, as_int(st.rows), rank_,
                         as_int(st.cols), 1.0f, st.residual.data(), as_int(st.cols), st.q.data(),
                         rank_, 0.0f, job->first.data() + m.p_at, rank_);
  }
  size_t put = p_size;
  for (const auto& [lo, hi] : job->plain) {
    std::copy(grads + lo, grads + hi, job->first.data() + put);
    put += hi - lo;
  }
  count(2.0, job->first.size(), sizeof(float));
  dist::Request first =
      group_->iall_reduce(job->first.data(), job->first.size(), dist::ReduceOp::sum);
  auto step = [this, job, grads, p_size](int phase) -> std::optional<dist::Request> {
    if (phase == 1) {
      // P's columns made orthonormal (every rank the same: they hold the same sum), Q = M^T P.
      for (PsgdMatrix& m : job->matrices) {
        State& st = *m.st;
        float* p = job->first.data() + m.p_at;
        orthonormalize(p, st.rows, static_cast<size_t>(rank_));
        kernels::gemm<float>(kernels::Trans::yes, kernels::Trans::no, as_int(st.cols), rank_,
                             as_int(st.rows), 1.0f, st.residual.data(), as_int(st.cols), p, rank_,
                             0.0f, job->second.data() + m.q_at, rank_);
      }
      count(2.0, job->second.size(), sizeof(float));
      return phase_group(1).iall_reduce(job->second.data(), job->second.size(),
                                        dist::ReduceOp::sum);
    }
    // G = P Q^T (the sum over ranks, approximated), E = M - G / p; Q kept for the next step.
    const float share = 1.0f / static_cast<float>(group_->size());
    for (PsgdMatrix& m : job->matrices) {
      State& st = *m.st;
      float* g = grads + m.offset;
      const float* q = job->second.data() + m.q_at;
      std::copy(q, q + st.q.size(), st.q.begin());
      kernels::gemm<float>(kernels::Trans::no, kernels::Trans::yes, as_int(st.rows),
                           as_int(st.cols), rank_, 1.0f, job->first.data() + m.p_at, rank_, q,
                           rank_, 0.0f, g, as_int(st.cols));
      for (size_t e = 0; e < st.residual.size(); ++e) st.residual[e] -= g[e] * share;
    }
    size_t take = p_size;
    for (const auto& [lo, hi] : job->plain) {
      std::copy(job->first.data() + take, job->first.data() + take + (hi - lo), grads + lo);
      take += hi - lo;
    }
    return std::nullopt;
  };
  return launch(std::move(first), std::move(step));
}

}  // namespace parti::parallel::data
