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

// Scopes free their scratch (in the block or in warm-up overflow) and the peak counts the most
// that was live at once.
TEST(Arena, ScopesRewindAndThePeakIsTheHighWaterMark) {
  Arena arena;
  arena.alloc<float>(16);  // 64 bytes, kept
  {
    Arena::Scope scope(arena);
    arena.alloc<float>(32);  // 128
    {
      Arena::Scope inner(arena);
      arena.alloc<float>(64);  // 256
    }
    EXPECT_EQ(arena.used_bytes(), 64u + 128u);
    arena.alloc<float>(16);
  }
  EXPECT_EQ(arena.used_bytes(), 64u);
  EXPECT_EQ(arena.peak_bytes(), 64u + 128u + 256u);
  arena.reset();  // one block of the peak from now on
  float* kept = arena.alloc<float>(16);
  {
    Arena::Scope scope(arena);
    arena.alloc<float>(96);
  }
  EXPECT_EQ(arena.alloc<float>(1), kept + 16) << "the scope's memory is handed out again";
  EXPECT_EQ(arena.capacity_bytes(), 64u + 128u + 256u);
}

}  // namespace
}  // namespace parti::core
