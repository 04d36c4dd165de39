// A ProcessGroup that forwards every call to another and counts them: calls, elements and
// seconds (blocking calls, and non-blocking starts plus their waits) per operation kind. Tests
// check a parallel layer's communication against its formula with it (Megatron's per-layer
// all-reduce count); the trainer reports the tensor-parallel group's share of a step with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "parti/dist/process_group.h"

namespace parti::dist {

class CountingGroup final : public ProcessGroup {
 public:
  struct Count {
    long long calls = 0;
    long long elements = 0;  // of the op's `n` (all_reduce: the buffer; reduce_scatter: a block)
    double seconds = 0.0;
  };
  explicit CountingGroup(ProcessGroup& inner) : inner_(inner) {}
  const std::map<std::string, Count>& counts() const { return *counts_; }
  Count count(const std::string& op) const {
    auto it = counts_->find(op);
    return it == counts_->end() ? Count{} : it->second;
  }
  void clear() { counts_->clear(); }  // with no non-blocking operation of this group pending
  // The elements this rank sends for the counted calls, by the bandwidth-optimal algorithms over
  // the group's p ranks: all-reduce 2 (p - 1) / p of its buffer (a ring); reduce-scatter and
  // all-gather (p - 1) blocks; broadcast and reduce (p - 1) / p of the buffer (a pipelined
  // chain: every rank but one forwards it); send all of it. The cost model of docs/planner.md.
  double sent_elements() const {
    const double p = size();
    double total = 0.0;
    for (const auto& [op, c] : *counts_) {
      const auto n = static_cast<double>(c.elements);
      if (op == "all_reduce") {
        total += 2.0 * (p - 1.0) / p * n;
      } else if (op == "reduce_scatter" || op == "all_gather") {
        total += (p - 1.0) * n;
      } else if (op == "broadcast" || op == "reduce") {
        total += (p - 1.0) / p * n;
      } else if (op == "send") {
        total += n;
      }
    }
    return total;
  }
  double seconds() const {
    double total = 0.0;
    for (const auto& [op, c] : *counts_) {
      total += c.seconds;
    }
    return total;
  }

  // Blocking forms: the inner group's blocking calls, timed.
  void all_reduce(float* data, size_t n, ReduceOp op) override {
    timed("all_reduce", n, [&] { inner_.all_reduce(data, n, op); });
  }
  void all_reduce(double* data, size_t n, ReduceOp op) override {
    timed("all_reduce", n, [&] { inner_.all_reduce(data, n, op); });
  }
  void reduce_scatter(const float* in, float* out, size_t n) override {
    timed("reduce_scatter", n, [&] { inner_.reduce_scatter(in, out, n); });
  }
  void reduce_scatter(const double* in, double* out, size_t n) override {
    timed("reduce_scatter", n, [&] { inner_.reduce_scatter(in, out, n); });
  }
  void all_gather(const float* in, float* out, size_t n) override {
    timed("all_gather", n, [&] { inner_.all_gather(in, out, n); });
  }
  void all_gather(const double* in, double* out, size_t n) override {
    timed("all_gather", n, [&] { inner_.all_gather(in, out, n); });
  }

  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  const std::string& name() const override { return inner_.name(); }
  Request iall_reduce(float* data, size_t n, ReduceOp op) override {
    return start("all_reduce", n, [&] { return inner_.iall_reduce(data, n, op); });
  }
  Request iall_reduce(double* data, size_t n, ReduceOp op) override {
    return start("all_reduce", n, [&] { return inner_.iall_reduce(data, n, op); });
  }
  Request ireduce_scatter(const float* in, float* out, size_t n) override {
    return start("reduce_scatter", n, [&] { return inner_.ireduce_scatter(in, out, n); });
  }
  Request iall_gather(const float* in, float* out, size_t n) override {
    return start("all_gather", n, [&] { return inner_.iall_gather(in, out, n); });
  }
  Request ireduce_scatter(const double* in, double* out, size_t n) override {
    return start("reduce_scatter", n, [&] { return inner_.ireduce_scatter(in, out, n); });
  }
  Request iall_gather(const double* in, double* out, size_t n) override {
    return start("all_gather", n, [&] { return inner_.iall_gather(in, out, n); });
  }
  Request ireduce_scatter_v(const float* in, float* out, size_t n, size_t total) override {
    return start("reduce_scatter_v", total,
                 [&] { return inner_.ireduce_scatter_v(in, out, n, total); });
  }
  Request iall_gather_v(const float* in, float* out, size_t n, size_t total) override {
    return start("all_gather_v", total, [&] { return inner_.iall_gather_v(in, out, n, total); });
  }
  Request iall_to_all(const uint16_t* in, uint16_t* out, size_t n) override {
    return start("all_to_all_u16", n, [&] { return inner_.iall_to_all(in, out, n); });
  }
  Request iall_gather(const uint16_t* in, uint16_t* out, size_t n) override {
    return start("all_gather_u16", n, [&] { return inner_.iall_gather(in, out, n); });
  }
  Request igather(const uint16_t* in, uint16_t* out, size_t n, int root) override {
    return start("gather_u16", n, [&] { return inner_.igather(in, out, n, root); });
  }
  Request ireduce(const float* in, float* out, size_t n, int root) override {
    return start("reduce", n, [&] { return inner_.ireduce(in, out, n, root); });
  }
  Request ibroadcast(float* data, size_t n, int root) override {
    return start("broadcast", n, [&] { return inner_.ibroadcast(data, n, root); });
  }
  Request ireduce(const double* in, double* out, size_t n, int root) override {
    return start("reduce", n, [&] { return inner_.ireduce(in, out, n, root); });
  }
  Request ibroadcast(double* data, size_t n, int root) override {
    return start("broadcast", n, [&] { return inner_.ibroadcast(data, n, root); });
  }
  Request isend(const float* data, size_t n, int peer, int tag) override {
    return start("send", n, [&] { return inner_.isend(data, n, peer, tag); });
  }
  Request irecv(float* data, size_t n, int peer, int tag) override {
    return start("recv", n, [&] { return inner_.irecv(data, n, peer, tag); });
  }
  Request isend(const double* data, size_t n, int peer, int tag) override {
    return start("send", n, [&] { return inner_.isend(data, n, peer, tag); });
  }
  Request irecv(double* data, size_t n, int peer, int tag) override {
    return start("recv", n, [&] { return inner_.irecv(data, n, peer, tag); });
  }
  void barrier() override {
    timed("barrier", 0, [&] { inner_.barrier(); });
  }
  // Counted into this group's counts.
  std::unique_ptr<ProcessGroup> duplicate(const std::string& name) override {
    return std::unique_ptr<ProcessGroup>(new CountingGroup(inner_.duplicate(name), counts_));
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }
  CountingGroup(std::unique_ptr<ProcessGroup> owned,
                std::shared_ptr<std::map<std::string, Count>> counts)
      : inner_(*owned), owned_(std::move(owned)), counts_(std::move(counts)) {}
  Count& add(const char* op, size_t n) {
    Count& c = (*counts_)[op];
    ++c.calls;
    c.elements += static_cast<long long>(n);
    return c;
  }
  template <typename Call>
  void timed(const char* op, size_t n, Call&& call) {
    Count& c = add(op, n);
    const Clock::time_point t0 = Clock::now();
    call();
    c.seconds += since(t0);
  }
  // A started operation whose wait is timed too.
  class TimedRequest final : public Request::Impl {
   public:
    TimedRequest(Request inner, double* seconds) : inner_(std::move(inner)), seconds_(seconds) {}
    void wait() override {
      const Clock::time_point t0 = Clock::now();
      inner_.wait();
      *seconds_ += since(t0);
    }
    bool test() override { return inner_.test(); }

   private:
    Request inner_;
    double* seconds_;
  };
  template <typename Start>
  Request start(const char* op, size_t n, Start&& begin) {
    Count& c = add(op, n);
    const Clock::time_point t0 = Clock::now();
    Request inner = begin();
    c.seconds += since(t0);
    return Request(std::make_unique<TimedRequest>(std::move(inner), &c.seconds));
  }
  ProcessGroup& inner_;
  std::unique_ptr<ProcessGroup> owned_;  // a duplicate's group
  std::shared_ptr<std::map<std::string, Count>> counts_ =
      std::make_shared<std::map<std::string, Count>>();
};

}  // namespace parti::dist
