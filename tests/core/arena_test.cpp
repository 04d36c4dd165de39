#include "parti/core/arena.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace parti::core {
namespace {

TEST(Arena, GrowsWhileWarmingUpThenReusesOneBlock) {
  Arena arena;
  float* a = arena.alloc<float>(100);
  double* b = arena.alloc_zero<double>(10);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
  EXPECT_EQ(b[9], 0.0);
  const size_t peak = arena.peak_bytes();
  EXPECT_EQ(peak, 448u + 128u);  // 400 -> 448 and 80 -> 128 bytes, 64-byte aligned
  arena.reset();
  EXPECT_EQ(arena.capacity_bytes(), peak);
  float* c = arena.alloc<float>(100);
  arena.alloc<double>(10);
  EXPECT_EQ(arena.used_bytes(), peak);
  EXPECT_EQ(arena.capacity_bytes(), peak) << "no growth once warmed up";
  arena.reset();
  EXPECT_EQ(arena.alloc<float>(1), c) << "the same memory is handed out again";
}

}  // namespace
}  // namespace parti::core
