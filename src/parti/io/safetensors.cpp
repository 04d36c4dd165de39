#include "parti/io/safetensors.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "parti/core/check.h"
#include "parti/data/token_file.h"

namespace parti::io {
namespace {

constexpr const char* kChecksumKey = "parti_fnv1a64";

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

size_t numel(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) {
    n *= static_cast<size_t>(d);
  }
  return n;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  std::string data;
  for (const TensorRef& t : tensors) {
    const size_t bytes = numel(t.shape) * sizeof(float);
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + bytes}}};
    data.append(reinterpret_cast<const char*>(t.data), bytes);
  }
  nlohmann::ordered_json meta(metadata);
  meta[kChecksumKey] = hex64(data::fnv1a64(data.data(), data.size()));
  header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t length = text.size();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  PARTI_CHECK(out.good(), CheckpointError, path, ": cannot create");
  out.write(reinterpret_cast<const char*>(&length), sizeof(length));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.flush();
  PARTI_CHECK(out.good(), CheckpointError, path, ": write failed");
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PARTI_CHECK(in.good(), CheckpointError, path, ": cannot open");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  PARTI_CHECK(bytes.size() >= 8, CheckpointError, path, ": truncated (", bytes.size(), " bytes)");
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), sizeof(length));
  PARTI_CHECK(length <= bytes.size() - 8, CheckpointError, path,
              ": truncated or not safetensors (header of ", length, " bytes, file of ",
              bytes.size(), ")");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, length));
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(str_cat(path, ": corrupted header: ", e.what()));
  }
  const size_t data_start = 8 + length;
  const size_t data_size = bytes.size() - data_start;
  SafetensorsFile file;
  size_t data_end = 0;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      for (const auto& [key, value] : entry.items()) {
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    PARTI_CHECK(entry.value("dtype", "") == "F32", CheckpointError, path, ": tensor ", name,
                " has dtype ", entry.value("dtype", "?"), ", only F32 is supported");
    Tensor t;
    t.shape = entry.at("shape").get<std::vector<int64_t>>();
    auto offsets = entry.at("data_offsets").get<std::vector<size_t>>();
    PARTI_CHECK(offsets.size() == 2 && offsets[1] >= offsets[0] &&
                    offsets[1] - offsets[0] == numel(t.shape) * sizeof(float),
                CheckpointError, path, ": tensor ", name, " has inconsistent offsets");
    PARTI_CHECK(offsets[1] <= data_size, CheckpointError, path, ": truncated: tensor ", name,
                " ends at byte ", offsets[1], " of a ", data_size, "-byte data section");
    t.data.resize(numel(t.shape));
    std::memcpy(t.data.data(), bytes.data() + data_start + offsets[0], offsets[1] - offsets[0]);
    data_end = std::max(data_end, offsets[1]);
    file.tensors.emplace(name, std::move(t));
  }
  auto sum = file.metadata.find(kChecksumKey);
  if (sum != file.metadata.end()) {
    PARTI_CHECK(data_end == data_size, CheckpointError, path, ": data section of ", data_size,
                " bytes, tensors need ", data_end);
    PARTI_CHECK(hex64(data::fnv1a64(bytes.data() + data_start, data_size)) == sum->second,
                CheckpointError, path, ": checksum mismatch (file corrupted)");
  }
  return file;
}

}  // namespace parti::io
