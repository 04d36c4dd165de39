// A bump allocator for activations (float, or double in gradient checks): one block, handed out in
// 64-byte aligned pieces, reset after each micro-batch's backward. It grows only while warming up
// (the first micro-batch), so a warmed-up step does no heap allocation (DESIGN principle 5).
// `peak_bytes` is what the step needed; the planner and the memory log read it.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace parti::core {

class Arena {
 public:
  // Returns `count` elements of T, uninitialised, valid until reset().
  template <typename T>
  T* alloc(size_t count) {
    return static_cast<T*>(alloc_bytes(count * sizeof(T)));
  }
  // Returns `count` elements of T set to zero.
  template <typename T>
  T* alloc_zero(size_t count) {
    return static_cast<T*>(alloc_zero_bytes(count * sizeof(T)));
  }
  // Frees every piece at once; keeps the memory (merging overflow blocks into one on next use).
  void reset();
  // Stack discipline for scratch that lives shorter than the micro-batch: rewind(mark()) frees
  // every piece handed out since the mark (Scope does it at the end of a block).
  struct Mark {
    size_t used, overflow;
  };
  Mark mark() const { return {used_, overflow_.size()}; }
  void rewind(const Mark& m);
  class Scope {
   public:
    explicit Scope(Arena& arena) : arena_(arena), mark_(arena.mark()) {}
    ~Scope() { arena_.rewind(mark_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Arena& arena_;
    Mark mark_;
  };
  size_t used_bytes() const { return used_ + overflow_bytes_; }
  size_t peak_bytes() const { return peak_; }
  // The peak since open_window() (a pipeline adds up its arenas' peaks over one instruction).
  void open_window() { window_peak_ = used_bytes(); }
  size_t window_peak() const { return window_peak_; }
  size_t capacity_bytes() const { return capacity_; }

 private:
  void* alloc_bytes(size_t bytes);
  void* alloc_zero_bytes(size_t bytes);
  struct FreeDeleter {
    void operator()(std::byte* p) const;
  };
  using Block = std::unique_ptr<std::byte[], FreeDeleter>;
  Block block_;
  size_t capacity_ = 0;          // bytes in block_
  size_t used_ = 0;              // bytes handed out of block_
  std::vector<Block> overflow_;  // pieces that did not fit while warming up
  std::vector<size_t> overflow_sizes_;
  size_t overflow_bytes_ = 0;
  size_t peak_ = 0;
  size_t window_peak_ = 0;
};

}  // namespace parti::core
