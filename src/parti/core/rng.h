// Counter-based random numbers: every value is a pure function of (seed, stream, counter), so a
// parameter's initial value depends only on (seed, its name, the element's index) and is the
// same in every layout, whatever slice of the tensor a rank holds (DESIGN principle 2).
// The mixer is SplitMix64's finaliser (Steele et al., "Fast splittable PRNGs", 2014), applied to
// the three words in sequence; normals use Box-Muller on two such uniforms, in double.
#pragma once

#include <cstdint>
#include <string_view>

namespace parti::core {

// 64-bit FNV-1a of a name: the stream of a named tensor.
uint64_t name_stream(std::string_view name);

// Uniform 64 random bits for (seed, stream, counter).
uint64_t random_bits(uint64_t seed, uint64_t stream, uint64_t counter);

// Uniform in [0, 1) with 53 random bits.
double random_uniform(uint64_t seed, uint64_t stream, uint64_t counter);

// Standard normal for (seed, stream, counter).
double random_normal(uint64_t seed, uint64_t stream, uint64_t counter);

}  // namespace parti::core
