// A group of ranks that talk to each other: the interface every parallelism uses. Collectives
// follow MPI's semantics on contiguous buffers of float (or double, for scalars like loss sums):
//   all_reduce       data (n) on every rank <- elementwise op over the group
//   reduce_scatter   in (size * n) -> out (n): block r of the sum goes to rank r
//   all_gather       in (n) -> out (size * n): block r comes from rank r (in place when `in` is
//                    this rank's block of `out`)
//   reduce_scatter_v, all_gather_v
//                    the same over a buffer of `total` <= size * n elements cut into blocks of n,
//                    the last ones short or empty: block r is [r n, min((r + 1) n, total)), so a
//                    flat range of any length shards over the group without padding
//   reduce           in (n) -> out (n) on root: elementwise sum over the group (out unused
//                    elsewhere)
//   broadcast        data (n) <- root's data
//   send / recv      point to point, tag-matched
//   all_to_all       in (size * n) -> out (size * n): block r of `in` goes to rank r, block r of
//                    `out` comes from rank r (16-bit words: compressed gradients on the wire)
//   gather           in (n) -> out (size * n) on root: block r from rank r (16-bit words)
// Every call has a non-blocking form returning a Request to wait on. Implementations: MpiGroup
// (the only code that includes <mpi.h>) and SelfGroup (one rank, no MPI).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "parti/core/check.h"

namespace parti::dist {

// A failed or timed-out communication; created only in dist/.
class DistError : public Error {
 public:
  using Error::Error;
};

enum class ReduceOp { sum, max };

// A pending non-blocking operation; wait() completes it (and is a no-op once complete).
class Request {
 public:
  class Impl {
   public:
    virtual ~Impl() = default;
    virtual void wait() = 0;
    virtual bool test() = 0;
    // wait() without holding a core: MPI's own wait spins (yielding at most), which on a node
    // with more ranks than cores takes the core from ranks that compute meanwhile. Tests in a
    // short spin first (a message already on its way costs no sleep), then sleeps in steps
    // growing to 100 us, and to 1 ms once the wait has lasted 100 ms.
    virtual void wait_politely();
  };
  Request() = default;
  explicit Request(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
  void wait() {
    if (impl_) {
      impl_->wait();
      impl_.reset();
    }
  }
  void wait_politely() {
    if (impl_) {
      impl_->wait_politely();
      impl_.reset();
    }
  }
  bool empty() const { return !impl_; }  // nothing pending (never started, or complete)
  bool test() {
    if (impl_ && impl_->test()) {
      impl_.reset();
    }
    return !impl_;
  }

 private:
  std::unique_ptr<Impl> impl_;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const std::string& name() const = 0;  // e.g. "dp[0,2]" (axis and member ranks)

  virtual Request iall_reduce(float* data, size_t n, ReduceOp op) = 0;
  virtual Request iall_reduce(double* data, size_t n, ReduceOp op) = 0;
  virtual Request ireduce_scatter(const float* in, float* out, size_t n) = 0;
  virtual Request iall_gather(const float* in, float* out, size_t n) = 0;
  // The same in double (tensor-parallel layers are checked in double against the plain ones).
  virtual Request ireduce_scatter(const double* in, double* out, size_t n) = 0;
  virtual Request iall_gather(const double* in, double* out, size_t n) = 0;
  virtual Request ireduce_scatter_v(const float* in, float* out, size_t n, size_t total) = 0;
  virtual Request iall_gather_v(const float* in, float* out, size_t n, size_t total) = 0;
  // 16-bit words (bf16 gradients): moved, never reduced.
  virtual Request iall_to_all(const uint16_t* in, uint16_t* out, size_t n) = 0;
  virtual Request iall_gather(const uint16_t* in, uint16_t* out, size_t n) = 0;
  virtual Request igather(const uint16_t* in, uint16_t* out, size_t n, int root) = 0;
  virtual Request ireduce(const float* in, float* out, size_t n, int root) = 0;
  virtual Request ibroadcast(float* data, size_t n, int root) = 0;
  // The same in double (block-partitioned layers, issue #21, are checked in double).
  virtual Request ireduce(const double* in, double* out, size_t n, int root) = 0;
  virtual Request ibroadcast(double* data, size_t n, int root) = 0;
  virtual Request isend(const double* data, size_t n, int peer, int tag) = 0;
  virtual Request irecv(double* data, size_t n, int peer, int tag) = 0;
  virtual Request isend(const float* data, size_t n, int peer, int tag) = 0;
  virtual Request irecv(float* data, size_t n, int peer, int tag) = 0;
  virtual void barrier() = 0;
  // A new group of the same ranks whose collectives never match this one's (MPI_Comm_dup):
  // collective over the group. Non-blocking collectives must start in the same order on every
  // rank of a group; work started in phases whose timing differs by rank uses one group a phase.
  virtual std::unique_ptr<ProcessGroup> duplicate(const std::string& name) = 0;

  // Blocking forms. By default the non-blocking form and a wait; MpiGroup calls MPI's blocking
  // collectives instead (Open MPI tunes those separately, and they skip the schedule set-up).
  virtual void all_reduce(float* data, size_t n, ReduceOp op) { iall_reduce(data, n, op).wait(); }
  virtual void all_reduce(double* data, size_t n, ReduceOp op) { iall_reduce(data, n, op).wait(); }
  virtual void reduce_scatter(const float* in, float* out, size_t n) {
    ireduce_scatter(in, out, n).wait();
  }
  virtual void all_gather(const float* in, float* out, size_t n) { iall_gather(in, out, n).wait(); }
  virtual void reduce_scatter(const double* in, double* out, size_t n) {
    ireduce_scatter(in, out, n).wait();
  }
  virtual void all_gather(const double* in, double* out, size_t n) {
    iall_gather(in, out, n).wait();
  }
  virtual void reduce_scatter_v(const float* in, float* out, size_t n, size_t total) {
    ireduce_scatter_v(in, out, n, total).wait();
  }
  virtual void all_gather_v(const float* in, float* out, size_t n, size_t total) {
    iall_gather_v(in, out, n, total).wait();
  }
  virtual void reduce(const float* in, float* out, size_t n, int root) {
    ireduce(in, out, n, root).wait();
  }
  virtual void broadcast(float* data, size_t n, int root) { ibroadcast(data, n, root).wait(); }
  void send(const float* data, size_t n, int peer, int tag) { isend(data, n, peer, tag).wait(); }
  void recv(float* data, size_t n, int peer, int tag) { irecv(data, n, peer, tag).wait(); }
};

// Length of block `rank` in the uneven collectives: min(n, total - rank n), or 0.
inline size_t block_length(int rank, size_t n, size_t total) {
  const size_t begin = static_cast<size_t>(rank) * n;
  return begin >= total ? 0 : std::min(n, total - begin);
}

// A group of one rank: every collective is a copy (or nothing); send/recv to itself are errors.
std::unique_ptr<ProcessGroup> make_self_group(const std::string& name);

}  // namespace parti::dist
