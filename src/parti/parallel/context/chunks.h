// Which tokens a context-parallel rank holds (issue #8): every sequence of T tokens is cut into
// 2 cp chunks of L = T / (2 cp); under the balanced assignment cp rank i holds chunks i and
// 2cp-1-i (the causal work evens out), otherwise chunks 2i and 2i+1 (contiguous halves, for tests).
// A rank's tensors hold its two chunks in that order: local token t is at global position
// chunks[t / L] * L + t % L. Worked example, T = 8, cp = 2 (L = 2):
//   chunks  0: {0,1}  1: {2,3}  2: {4,5}  3: {6,7}
//   rank 0 holds chunks 0 and 3: positions 0 1 6 7;  rank 1 holds chunks 1 and 2: positions 2 3 4 5
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace parti::parallel::context {

// The two global chunk indices cp rank `rank` of `size` holds, in local order.
std::array<int, 2> cp_chunks(int rank, int size, bool balanced);
// The global positions of a row's T / size local tokens on that rank (its two chunks in order).
std::vector<int32_t> cp_positions(int rank, int size, int T, bool balanced);
// Rows of T tokens (full) -> the same rows' local tokens (rows x positions.size()).
void cp_take(const std::vector<int32_t>& positions, int T, const int32_t* full, int rows,
             int32_t* local);

}  // namespace parti::parallel::context
