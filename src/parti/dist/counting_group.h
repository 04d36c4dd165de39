// A ProcessGroup that forwards every call to another and counts them: calls and elements per
// operation kind (blocking calls count as their non-blocking form). Tests check a parallel
// layer's communication against its formula with it (Megatron's per-layer all-reduce count).
#pragma once

#include <map>
#include <string>

#include "parti/dist/process_group.h"

namespace parti::dist {

class CountingGroup final : public ProcessGroup {
 public:
  struct Count {
    long long calls = 0;
    long long elements = 0;  // of the op's `n` (all_reduce: the buffer; reduce_scatter: a block)
  };
  explicit CountingGroup(ProcessGroup& inner) : inner_(inner) {}
  const std::map<std::string, Count>& counts() const { return counts_; }
  Count count(const std::string& op) const {
    auto it = counts_.find(op);
    return it == counts_.end() ? Count{} : it->second;
  }
  void clear() { counts_.clear(); }

  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  const std::string& name() const override { return inner_.name(); }
  Request iall_reduce(float* data, size_t n, ReduceOp op) override {
    add("all_reduce", n);
    return inner_.iall_reduce(data, n, op);
  }
  Request iall_reduce(double* data, size_t n, ReduceOp op) override {
    add("all_reduce", n);
    return inner_.iall_reduce(data, n, op);
  }
  Request ireduce_scatter(const float* in, float* out, size_t n) override {
    add("reduce_scatter", n);
    return inner_.ireduce_scatter(in, out, n);
  }
  Request iall_gather(const float* in, float* out, size_t n) override {
    add("all_gather", n);
    return inner_.iall_gather(in, out, n);
  }
  Request ireduce_scatter(const double* in, double* out, size_t n) override {
    add("reduce_scatter", n);
    return inner_.ireduce_scatter(in, out, n);
  }
  Request iall_gather(const double* in, double* out, size_t n) override {
    add("all_gather", n);
    return inner_.iall_gather(in, out, n);
  }
  Request ireduce_scatter_v(const float* in, float* out, size_t n, size_t total) override {
    add("reduce_scatter_v", total);
    return inner_.ireduce_scatter_v(in, out, n, total);
  }
  Request iall_gather_v(const float* in, float* out, size_t n, size_t total) override {
    add("all_gather_v", total);
    return inner_.iall_gather_v(in, out, n, total);
  }
  Request ireduce(const float* in, float* out, size_t n, int root) override {
    add("reduce", n);
    return inner_.ireduce(in, out, n, root);
  }
  Request ibroadcast(float* data, size_t n, int root) override {
    add("broadcast", n);
    return inner_.ibroadcast(data, n, root);
  }
  Request isend(const float* data, size_t n, int peer, int tag) override {
    add("send", n);
    return inner_.isend(data, n, peer, tag);
  }
  Request irecv(float* data, size_t n, int peer, int tag) override {
    add("recv", n);
    return inner_.irecv(data, n, peer, tag);
  }
  void barrier() override {
    add("barrier", 0);
    inner_.barrier();
  }

 private:
  void add(const char* op, size_t n) {
    Count& c = counts_[op];
    ++c.calls;
    c.elements += static_cast<long long>(n);
  }
  ProcessGroup& inner_;
  std::map<std::string, Count> counts_;
};

}  // namespace parti::dist
