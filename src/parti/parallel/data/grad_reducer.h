// Data-parallel gradient reduction in buckets, overlapped with backward (PyTorch DDP's reducer,
// on flat buffers). Backward reports each contiguous range of the flat gradient buffer whose
// gradients are final (a block, the final norm, the embeddings) in the order it finishes them;
// adjacent ranges gather into a pending bucket, and a bucket of at least `bucket_bytes` starts a
// non-blocking all-reduce at once. Every report also tests the outstanding requests, which drives
// MPI's progress while backward computes. finish() starts the rest and waits for all.
// Only the last micro-batch of an accumulation reports ranges; earlier ones reduce nothing.
// How a bucket is summed (plain fp32, bf16 on the wire, PowerSGD) is the BucketReduction's
// business (compress.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "parti/dist/process_group.h"
#include "parti/parallel/data/compress.h"

namespace parti::parallel::data {

class GradReducer {
 public:
  GradReducer(BucketReduction& reduction, size_t bucket_bytes);
  void begin(float* grads);              // a step's last micro-batch starts backward
  void ready(size_t begin, size_t end);  // grads[begin, end) are final (empty: just progress)
  void finish();                         // backward is over: reduce the rest, wait for all

  struct Bucket {
    size_t begin, end;      // elements of the flat buffer
    double started_s;       // since begin()
    double completed_s;     // since begin(); observed by a test or the final wait
    bool done_in_backward;  // completed before finish() was called
  };
  const std::vector<Bucket>& buckets() const { return buckets_; }

 private:
  void start_pending();
  void poll();
  double now() const;
  BucketReduction& reduction_;
  size_t bucket_elements_;
  float* grads_ = nullptr;
  size_t lo_ = 0, hi_ = 0;  // pending range (empty when lo_ == hi_)
  std::vector<Bucket> buckets_;
  std::vector<dist::Request> requests_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace parti::parallel::data
