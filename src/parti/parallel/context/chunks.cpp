#include "parti/parallel/context/chunks.h"

#include "parti/core/check.h"

namespace parti::parallel::context {

std::array<int, 2> cp_chunks(int rank, int size, bool balanced) {
  if (balanced) {
    return {rank, 2 * size - 1 - rank};
  }
  return {2 * rank, 2 * rank + 1};
}

std::vector<int32_t> cp_positions(int rank, int size, int T, bool balanced) {
  PARTI_ASSERT(T % (2 * size) == 0, "sequence of ", T, " tokens in ", 2 * size, " chunks");
  const int L = T / (2 * size);
  std::vector<int32_t> out;
  for (int chunk : cp_chunks(rank, size, balanced)) {
    for (int t = 0; t < L; ++t) out.push_back(chunk * L + t);
  }
  return out;
}

void cp_take(const std::vector<int32_t>& positions, int T, const int32_t* full, int rows,
             int32_t* local) {
  const size_t Tl = positions.size();
  for (int b = 0; b < rows; ++b) {
    for (size_t t = 0; t < Tl; ++t) {
      local[static_cast<size_t>(b) * Tl + t] =
          full[static_cast<size_t>(b) * static_cast<size_t>(T) + static_cast<size_t>(positions[t])];
    }
  }
}

}  // namespace parti::parallel::context
