// libFuzzer target: a token file (train.bin, val.bin) with any header and body. It either loads,
// every id inside the vocabulary it declares, or throws DataError. Inputs whose last byte is odd
// get a correct checksum written into their header first, so that mutations also reach the checks
// after it (counts, widths, ids) instead of all stopping at the checksum.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "parti/core/check.h"
#include "parti/data/token_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (size >= 64 && (bytes.back() & 1) != 0) {
    const uint64_t sum = parti::data::fnv1a64(bytes.data() + 64, size - 64);
    std::memcpy(bytes.data() + 32, &sum, sizeof(sum));
  }
  const std::string path = parti::fuzz::write_input("train.bin", bytes.data(), bytes.size());
  try {
    const parti::data::TokenFile file = parti::data::read_token_file(path);
    parti::fuzz::require(file.vocab_size > 0 && file.eot >= 0 && file.eot < file.vocab_size);
    for (uint32_t id : file.tokens) {
      parti::fuzz::require(id < static_cast<uint32_t>(file.vocab_size));
    }
    parti::fuzz::require(64 + file.tokens.size() * 2 <= size);
  } catch (const parti::DataError&) {
  }
  return 0;
}
