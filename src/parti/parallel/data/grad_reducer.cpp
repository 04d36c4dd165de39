#include "parti/parallel/data/grad_reducer.h"

#include "parti/core/check.h"

namespace parti::parallel::data {

GradReducer::GradReducer(BucketReduction& reduction, size_t bucket_bytes)
    : reduction_(reduction), bucket_elements_(std::max<size_t>(1, bucket_bytes / sizeof(float))) {}

double GradReducer::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void GradReducer::begin(float* grads) {
  grads_ = grads;
  lo_ = hi_ = 0;
  buckets_.clear();
  requests_.clear();
  t0_ = std::chrono::steady_clock::now();
}

void GradReducer::ready(size_t begin, size_t end) {
  PARTI_ASSERT(grads_ != nullptr && begin <= end, "ready() outside a reducing backward");
  if (begin == end) {
    poll();  // an empty range only asks for progress
    return;
  }
  if (lo_ != hi_ && end != lo_) {
    start_pending();  // not adjacent: the pending bucket is complete
  }
  if (lo_ == hi_) {
    lo_ = begin;
    hi_ = end;
  } else {
    lo_ = begin;
  }
  if (hi_ - lo_ >= bucket_elements_) {
    start_pending();
  }
  poll();
}

void GradReducer::start_pending() {
  if (lo_ == hi_) {
    return;
  }
  buckets_.push_back({lo_, hi_, now(), 0.0, false});
  requests_.push_back(reduction_.start(grads_, lo_, hi_));
  lo_ = hi_ = 0;
}

void GradReducer::poll() {
  // Each test lets MPI advance a pending collective by a round when its peers are ready; a few
  // tests per report let a bucket finish while backward computes.
  constexpr int kTests = 4;
  for (int t = 0; t < kTests; ++t) {
    for (size_t i = 0; i < requests_.size(); ++i) {
      if (buckets_[i].completed_s == 0.0 && requests_[i].test()) {
        buckets_[i].completed_s = now();
        buckets_[i].done_in_backward = true;
      }
    }
  }
}

void GradReducer::finish() {
  start_pending();
  for (size_t i = 0; i < requests_.size(); ++i) {
    requests_[i].wait_politely();
    if (buckets_[i].completed_s == 0.0) {
      buckets_[i].completed_s = now();
    }
  }
  grads_ = nullptr;
}

}  // namespace parti::parallel::data
