#include "parti/core/arena.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "parti/core/check.h"

namespace parti::core {
namespace {

constexpr size_t kAlign = 64;

std::byte* aligned_bytes(size_t bytes) {
  void* p = std::aligned_alloc(kAlign, bytes == 0 ? kAlign : bytes);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return static_cast<std::byte*>(p);
}

}  // namespace

void Arena::FreeDeleter::operator()(std::byte* p) const { std::free(p); }

void* Arena::alloc_bytes(size_t requested) {
  size_t bytes = (requested + kAlign - 1) / kAlign * kAlign;
  std::byte* out = nullptr;
  if (used_ + bytes <= capacity_) {
    out = block_.get() + used_;
    used_ += bytes;
  } else {
    overflow_.emplace_back(aligned_bytes(bytes));
    overflow_sizes_.push_back(bytes);
    overflow_bytes_ += bytes;
    out = overflow_.back().get();
  }
  peak_ = std::max(peak_, used_ + overflow_bytes_);
  window_peak_ = std::max(window_peak_, used_ + overflow_bytes_);
  return out;
}

void* Arena::alloc_zero_bytes(size_t bytes) {
  void* out = alloc_bytes(bytes);
  std::memset(out, 0, bytes);
  return out;
}

void Arena::rewind(const Mark& m) {
  PARTI_ASSERT(m.used <= used_ && m.overflow <= overflow_.size(), "rewind past the arena's end");
  while (overflow_.size() > m.overflow) {
    overflow_bytes_ -= overflow_sizes_.back();
    overflow_sizes_.pop_back();
    overflow_.pop_back();
  }
  used_ = m.used;
}

void Arena::reset() {
  if (!overflow_.empty()) {
    // Warm-up is over for this size: one block that holds the peak.
    overflow_.clear();
    overflow_sizes_.clear();
    overflow_bytes_ = 0;
    block_.reset(aligned_bytes(peak_));
    capacity_ = peak_;
  }
  used_ = 0;
}

}  // namespace parti::core
