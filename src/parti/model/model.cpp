#include "parti/model/model.h"

namespace parti::model {

std::vector<Chunk> chunks_of(const std::vector<int>& split) {
  std::vector<Chunk> chunks;
  int first = 0;
  for (size_t c = 0; c < split.size(); ++c) {
    chunks.push_back({first, split[c], c == 0, c + 1 == split.size()});
    first += split[c];
  }
  return chunks;
}

}  // namespace parti::model
