#include <algorithm>
#include <cstdint>

#include "parti/core/check.h"
#include "parti/dist/process_group.h"

namespace parti::dist {
namespace {

class SelfGroup : public ProcessGroup {
 public:
  explicit SelfGroup(std::string name) : name_(std::move(name)) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const std::string& name() const override { return name_; }
  Request iall_reduce(float*, size_t, ReduceOp) override { return {}; }
  Request iall_reduce(double*, size_t, ReduceOp) override { return {}; }
  Request ireduce_scatter(const float* in, float* out, size_t n) override {
    std::copy(in, in + n, out);
    return {};
  }
  Request iall_gather(const float* in, float* out, size_t n) override {
    if (in != out) {
      std::copy(in, in + n, out);
    }
    return {};
  }
  Request ireduce_scatter(const double* in, double* out, size_t n) override {
    std::copy(in, in + n, out);
    return {};
  }
  Request iall_gather(const double* in, double* out, size_t n) override {
    if (in != out) {
      std::copy(in, in + n, out);
    }
    return {};
  }
  Request ireduce_scatter_v(const float* in, float* out, size_t n, size_t total) override {
    return ireduce_scatter(in, out, std::min(n, total));
  }
  Request iall_gather_v(const float* in, float* out, size_t n, size_t total) override {
    return iall_gather(in, out, std::min(n, total));
  }
  Request iall_to_all(const uint16_t* in, uint16_t* out, size_t n) override {
    if (in != out) {
      std::copy(in, in + n, out);
    }
    return {};
  }
  Request iall_gather(const uint16_t* in, uint16_t* out, size_t n) override {
    if (in != out) {
      std::copy(in, in + n, out);
    }
    return {};
  }
  Request igather(const uint16_t* in, uint16_t* out, size_t n, int root) override {
    PARTI_ASSERT(root == 0, "gather root ", root, " in a group of one");
    if (in != out) {
      std::copy(in, in + n, out);
    }
    return {};
  }
  Request ireduce(const float* in, float* out, size_t n, int root) override {
    PARTI_ASSERT(root == 0, "reduce root ", root, " in a group of one");
    std::copy(in, in + n, out);
    return {};
  }
  Request ibroadcast(float*, size_t, int root) override {
    PARTI_ASSERT(root == 0, "broadcast root ", root, " in a group of one");
    return {};
  }
  Request ireduce(const double* in, double* out, size_t n, int root) override {
    PARTI_ASSERT(root == 0, "reduce root ", root, " in a group of one");
    std::copy(in, in + n, out);
    return {};
  }
  Request ibroadcast(double*, size_t, int root) override {
    PARTI_ASSERT(root == 0, "broadcast root ", root, " in a group of one");
    return {};
  }
  Request isend(const float*, size_t, int peer, int) override {
    PARTI_ASSERT(false, "send to rank ", peer, " in a group of one");
    return {};
  }
  Request irecv(float*, size_t, int peer, int) override {
    PARTI_ASSERT(false, "recv from rank ", peer, " in a group of one");
    return {};
  }
  Request isend(const double*, size_t, int peer, int) override {
    PARTI_ASSERT(false, "send to rank ", peer, " in a group of one");
    return {};
  }
  Request irecv(double*, size_t, int peer, int) override {
    PARTI_ASSERT(false, "recv from rank ", peer, " in a group of one");
    return {};
  }
  void barrier() override {}
  std::unique_ptr<ProcessGroup> duplicate(const std::string& name) override {
    return std::make_unique<SelfGroup>(name);
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_self_group(const std::string& name) {
  return std::make_unique<SelfGroup>(name);
}

}  // namespace parti::dist
