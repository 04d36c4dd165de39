// The safetensors format (Hugging Face): u64 little-endian header length N, N bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<string>"}}
// then the raw little-endian data. Parti writes F32 only, and adds the metadata key
// "parti_fnv1a64": the FNV-1a 64 hash (hex) of the data section, checked on read so a corrupted
// file is detected. Files from other tools (no such key) are read without that check.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace parti::io {

struct TensorRef {  // a tensor to write; data not owned
  std::string name;
  std::vector<int64_t> shape;
  const float* data;
};

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Writes `path` directly (callers write into a temporary folder and rename it).
void write_safetensors(const std::string& path, const std::vector<TensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata);
// Throws CheckpointError naming the file for a missing, truncated or corrupted file.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace parti::io
