// The safetensors format (Hugging Face): u64 little-endian header length N, N bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<string>"}}
// then the raw little-endian data. Parti writes F32 only (and reads F16 and BF16 too, as floats:
// Hugging Face checkpoints are often half precision), and adds the metadata key
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

// Writing one file from several processes, each its own parts of the tensors, without any
// process holding them all: one process creates the file from a plan (header, full size), every
// process writes its parts at their offsets and flushes, then one process seals it (streams the
// data once to put its checksum into the header). The result equals write_safetensors's.
struct TensorShape {
  std::string name;
  std::vector<int64_t> shape;
};
struct SafetensorsPlan {
  std::string header;                     // the file's first bytes: length and JSON
  std::map<std::string, size_t> offsets;  // tensor -> file offset of its first byte
  size_t file_size = 0;
};
SafetensorsPlan plan_safetensors(const std::vector<TensorShape>& tensors,
                                 const std::map<std::string, std::string>& metadata,
                                 uint64_t checksum = 0);
void create_safetensors(const std::string& path, const SafetensorsPlan& plan);
// Elements [first, first + count) of tensor `name`.
void write_tensor_part(const std::string& path, const SafetensorsPlan& plan,
                       const std::string& name, size_t first, const float* data, size_t count);
void seal_safetensors(const std::string& path);

// Reading parts of tensors without loading the file: verify() streams the data once against
// the checksum (files without one pass); read() takes elements [first, first + count).
class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::string& path);
  ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;
  void verify() const;
  // Throws CheckpointError when the tensor is missing or has another shape.
  void expect_shape(const std::string& name, const std::vector<int64_t>& shape) const;
  void read(const std::string& name, size_t first, float* out, size_t count) const;
  // Hugging Face model folders name tensors with or without their model class's prefix
  // (GPT2LMHeadModel's `transformer.`): drop `prefix` wherever a name starts with it.
  void strip_prefix(const std::string& prefix);
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  size_t data_bytes() const { return data_size_; }             // of the data section
  std::map<std::string, std::vector<int64_t>> shapes() const;  // of every tensor, by name

 private:
  struct Entry {
    std::vector<int64_t> shape;
    size_t begin, end;  // file offsets
    int kind;           // bytes per element, 4 (F32) or 2 (BF16); kF16 for F16
  };
  void read_header();  // fills everything below from the file
  std::string path_;
  int fd_ = -1;
  size_t data_start_ = 0;
  size_t data_size_ = 0;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace parti::io
