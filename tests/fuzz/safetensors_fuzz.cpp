// libFuzzer target: a model.safetensors file from anywhere (a damaged checkpoint, a hand-made
// folder). The reader must either load it, self-consistent, or throw CheckpointError.
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "parti/core/check.h"
#include "parti/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = parti::fuzz::write_input("model.safetensors", data, size);
  try {
    const parti::io::SafetensorsFile file = parti::io::read_safetensors(path);
    size_t total = 0;
    for (const auto& [name, tensor] : file.tensors) {
      size_t n = 1;
      for (int64_t d : tensor.shape) {
        parti::fuzz::require(d >= 0);
        n *= static_cast<size_t>(d);
      }
      parti::fuzz::require(n == tensor.data.size());
      total += n * sizeof(float);
    }
    parti::fuzz::require(total <= size);
  } catch (const parti::CheckpointError&) {
  }
  return 0;
}
