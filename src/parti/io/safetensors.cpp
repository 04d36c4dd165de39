#include "parti/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "parti/core/check.h"
#include "parti/core/json.h"
#include "parti/data/token_file.h"

namespace parti::io {
namespace {

constexpr const char* kChecksumKey = "parti_fnv1a64";
constexpr int kF16 = -2;  // Entry::kind of an F16 tensor (2 bytes, not a float's upper half)

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

// pwrite / pread of a whole buffer at an offset (retrying short transfers).
// On failure errno tells why (0: the file ended early).
bool write_all(int fd, const void* data, size_t bytes, size_t offset) {
  errno = 0;
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd, p, bytes, static_cast<off_t>(offset));
    if (n <= 0) {
      return false;
    }
    p += n;
    bytes -= static_cast<size_t>(n);
    offset += static_cast<size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* data, size_t bytes, size_t offset) {
  errno = 0;
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, bytes, static_cast<off_t>(offset));
    if (n <= 0) {
      return false;
    }
    p += n;
    bytes -= static_cast<size_t>(n);
    offset += static_cast<size_t>(n);
  }
  return true;
}

// One tensor's description: dtype F32, a shape of sizes >= 0, data_offsets [begin, end] whose
// length is the shape's bytes (the product checked for overflow). Throws CheckpointError.
std::tuple<std::vector<int64_t>, size_t, size_t, int> read_entry(const std::string& path,
                                                                 const std::string& name,
                                                                 const nlohmann::json& entry) {
  PARTI_CHECK(entry.is_object(), CheckpointError, path, ": tensor ", name,
              " is not described by a JSON object");
  std::string dtype;
  std::vector<int64_t> shape, offsets;
  try {
    dtype = entry.at("dtype").get<std::string>();
    shape = json_ints<int64_t>(entry.at("shape"));
    offsets = json_ints<int64_t>(entry.at("data_offsets"));
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(str_cat(path, ": tensor ", name, ": ", e.what()));
  }
  const int width = dtype == "F32" ? 4 : dtype == "F16" || dtype == "BF16" ? 2 : 0;
  PARTI_CHECK(width > 0, CheckpointError, path, ": tensor ", name, " has dtype ", dtype,
              ", only F32, F16 and BF16 are read");
  uint64_t bytes = static_cast<uint64_t>(width);
  for (int64_t d : shape) {
    PARTI_CHECK(d >= 0 && !__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes),
                CheckpointError, path, ": tensor ", name, " has an impossible shape (size ", d,
                ")");
  }
  PARTI_CHECK(offsets.size() == 2 && offsets[0] >= 0 && offsets[1] >= offsets[0] &&
                  static_cast<uint64_t>(offsets[1] - offsets[0]) == bytes,
              CheckpointError, path, ": tensor ", name, " has inconsistent offsets");
  return {shape, static_cast<size_t>(offsets[0]), static_cast<size_t>(offsets[1]),
          dtype == "F16" ? kF16 : width};
}

// IEEE half precision to float: exact (every half is a float), subnormals, infinities and NaN
// included.
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  uint32_t bits = 0;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: mantissa x 2^-24, normalised
    int shift = 0;
    uint32_t m = mantissa;
    while ((m & 0x400u) == 0) {
      m <<= 1;
      ++shift;
    }
    bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | ((m & 0x3ffu) << 13);
  }
  float out = 0;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

std::map<std::string, std::string> read_metadata(const std::string& path,
                                                 const nlohmann::json& entry) {
  PARTI_CHECK(entry.is_object(), CheckpointError, path, ": __metadata__ is not a JSON object");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : entry.items()) {
    PARTI_CHECK(value.is_string(), CheckpointError, path, ": __metadata__ ", key,
                " is not a string");
    out[key] = value.get<std::string>();
  }
  return out;
}

}  // namespace

SafetensorsPlan plan_safetensors(const std::vector<TensorShape>& tensors,
                                 const std::map<std::string, std::string>& metadata,
                                 uint64_t checksum) {
  nlohmann::ordered_json header;
  size_t data = 0;
  std::vector<std::pair<std::string, size_t>> starts;
  for (const TensorShape& t : tensors) {
    const size_t bytes = numel(t.shape) * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {data, data + bytes}}};
    starts.emplace_back(t.name, data);
    data += bytes;
  }
  nlohmann::ordered_json meta(metadata);
  meta[kChecksumKey] = hex64(checksum);
  header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t length = text.size();
  SafetensorsPlan plan;
  plan.header.assign(reinterpret_cast<const char*>(&length), sizeof(length));
  plan.header += text;
  for (const auto& [name, start] : starts) {
    plan.offsets[name] = plan.header.size() + start;
  }
  plan.file_size = plan.header.size() + data;
  return plan;
}

void write_safetensors(const std::string& path, const std::vector<TensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorShape> shapes;
  uint64_t checksum = data::kFnvBasis;
  for (const TensorRef& t : tensors) {
    shapes.push_back({t.name, t.shape});
    checksum = data::fnv1a64(t.data, numel(t.shape) * sizeof(float), checksum);
  }
  const SafetensorsPlan plan = plan_safetensors(shapes, metadata, checksum);
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  PARTI_CHECK(out.good(), CheckpointError, path, ": cannot create: ", os_error(errno));
  out.write(plan.header.data(), static_cast<std::streamsize>(plan.header.size()));
  for (const TensorRef& t : tensors) {
    out.write(reinterpret_cast<const char*>(t.data),
              static_cast<std::streamsize>(numel(t.shape) * sizeof(float)));
  }
  out.flush();
  PARTI_CHECK(out.good(), CheckpointError, path, ": write failed: ", os_error(errno));
}

void create_safetensors(const std::string& path, const SafetensorsPlan& plan) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  PARTI_CHECK(fd >= 0, CheckpointError, path, ": cannot create: ", os_error(errno));
  const bool ok = write_all(fd, plan.header.data(), plan.header.size(), 0) &&
                  ::ftruncate(fd, static_cast<off_t>(plan.file_size)) == 0;
  const int error = errno;
  ::close(fd);
  PARTI_CHECK(ok, CheckpointError, path, ": write failed: ", os_error(error));
}

void write_tensor_part(const std::string& path, const SafetensorsPlan& plan,
                       const std::string& name, size_t first, const float* data, size_t count) {
  auto it = plan.offsets.find(name);
  PARTI_ASSERT(it != plan.offsets.end(), "no tensor ", name, " in the plan of ", path);
  const int fd = ::open(path.c_str(), O_WRONLY);
  PARTI_CHECK(fd >= 0, CheckpointError, path, ": cannot open for writing: ", os_error(errno));
  const bool ok = write_all(fd, data, count * sizeof(float), it->second + first * sizeof(float));
  const int error = errno;
  ::close(fd);
  PARTI_CHECK(ok, CheckpointError, path, ": write failed: ", os_error(error));
}

void seal_safetensors(const std::string& path) {
  SafetensorsReader reader(path);  // parses the header
  const int fd = ::open(path.c_str(), O_RDWR);
  PARTI_CHECK(fd >= 0, CheckpointError, path, ": cannot open to seal: ", os_error(errno));
  uint64_t length = 0;
  bool ok = read_all(fd, &length, sizeof(length), 0);
  std::string header(ok ? length : 0, '\0');
  ok = ok && read_all(fd, header.data(), header.size(), sizeof(length));
  const std::string key = std::string("\"") + kChecksumKey + "\":\"";
  const size_t at = header.find(key);
  uint64_t checksum = data::kFnvBasis;
  const size_t data_start = sizeof(length) + header.size();
  struct stat st {};
  ok = ok && at != std::string::npos && ::fstat(fd, &st) == 0;
  std::vector<char> chunk(size_t{1} << 20);
  for (size_t pos = data_start; ok && pos < static_cast<size_t>(st.st_size);) {
    const size_t n = std::min(chunk.size(), static_cast<size_t>(st.st_size) - pos);
    ok = read_all(fd, chunk.data(), n, pos);
    checksum = data::fnv1a64(chunk.data(), n, checksum);
    pos += n;
  }
  const std::string hex = hex64(checksum);
  ok = ok && write_all(fd, hex.data(), hex.size(), sizeof(length) + at + key.size());
  const int error = errno;
  ::close(fd);
  PARTI_CHECK(ok, CheckpointError, path, ": sealing failed: ", os_error(error));
}

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY);
  PARTI_CHECK(fd_ >= 0, CheckpointError, path, ": cannot open: ", os_error(errno));
  try {
    read_header();
  } catch (...) {
    ::close(fd_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

void SafetensorsReader::read_header() {
  const std::string& path = path_;
  struct stat st {};
  PARTI_CHECK(::fstat(fd_, &st) == 0, CheckpointError, path, ": cannot stat: ", os_error(errno));
  const auto file_size = static_cast<size_t>(st.st_size);
  uint64_t length = 0;
  PARTI_CHECK(file_size >= 8 && read_all(fd_, &length, sizeof(length), 0), CheckpointError, path,
              ": truncated (", file_size, " bytes)");
  PARTI_CHECK(length <= file_size - 8, CheckpointError, path,
              ": truncated or not safetensors (header of ", length, " bytes, file of ", file_size,
              ")");
  std::string text(length, '\0');
  PARTI_CHECK(read_all(fd_, text.data(), length, 8), CheckpointError, path,
              ": read failed: ", os_error(errno));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(str_cat(path, ": corrupted header: ", e.what()));
  }
  PARTI_CHECK(header.is_object(), CheckpointError, path,
              ": corrupted header: not a JSON object of tensors");
  data_start_ = 8 + length;
  data_size_ = file_size - data_start_;
  size_t data_end = 0;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      metadata_ = read_metadata(path, entry);
      continue;
    }
    const auto [shape, begin, end, width] = read_entry(path, name, entry);
    PARTI_CHECK(end <= data_size_, CheckpointError, path, ": truncated: tensor ", name,
                " ends at byte ", end, " of a ", data_size_, "-byte data section");
    entries_.emplace(name, Entry{shape, data_start_ + begin, data_start_ + end, width});
    data_end = std::max(data_end, end);
  }
  // The format's rule: the tensors cover the data section exactly, without holes or overlaps.
  std::vector<std::tuple<size_t, size_t, std::string>> order;  // begin, end (empty ones first)
  for (const auto& [name, e] : entries_) order.emplace_back(e.begin, e.end, name);
  std::sort(order.begin(), order.end());
  size_t at = data_start_;
  for (const auto& [begin, end, name] : order) {
    PARTI_CHECK(begin == at, CheckpointError, path, ": tensor ", name, " starts at byte ",
                begin - data_start_, " of the data section, where ", at - data_start_,
                " was expected (overlapping or gapped data_offsets)");
    at = end;
  }
  PARTI_CHECK(data_end == data_size_, CheckpointError, path, ": data section of ", data_size_,
              " bytes, tensors need ", data_end);
  // Parti's own files (a step in their metadata) always carry the checksum: one without it has
  // been altered.
  PARTI_CHECK(metadata_.count("step") == 0 || metadata_.count(kChecksumKey) != 0, CheckpointError,
              path, ": written by Parti (metadata step ", metadata_["step"], ") but without its ",
              kChecksumKey, " checksum: altered");
}

SafetensorsReader::~SafetensorsReader() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void SafetensorsReader::verify() const {
  auto sum = metadata_.find(kChecksumKey);
  if (sum == metadata_.end()) {
    return;
  }
  uint64_t checksum = data::kFnvBasis;
  std::vector<char> chunk(size_t{1} << 20);
  for (size_t pos = 0; pos < data_size_;) {
    const size_t n = std::min(chunk.size(), data_size_ - pos);
    PARTI_CHECK(read_all(fd_, chunk.data(), n, data_start_ + pos), CheckpointError, path_,
                ": read failed: ", os_error(errno));
    checksum = data::fnv1a64(chunk.data(), n, checksum);
    pos += n;
  }
  PARTI_CHECK(hex64(checksum) == sum->second, CheckpointError, path_,
              ": checksum mismatch (file corrupted)");
}

void SafetensorsReader::expect_shape(const std::string& name,
                                     const std::vector<int64_t>& shape) const {
  auto it = entries_.find(name);
  PARTI_CHECK(it != entries_.end(), CheckpointError, path_, ": tensor ", name, " is missing");
  PARTI_CHECK(it->second.shape == shape, CheckpointError, path_, ": tensor ", name,
              " has a different shape than the model's");
}

void SafetensorsReader::read(const std::string& name, size_t first, float* out,
                             size_t count) const {
  const Entry& e = entries_.at(name);
  const size_t width = e.kind == kF16 ? 2 : static_cast<size_t>(e.kind);
  PARTI_ASSERT(e.begin + (first + count) * width <= e.end, "reading past tensor ", name);
  if (width == sizeof(float)) {
    PARTI_CHECK(read_all(fd_, out, count * sizeof(float), e.begin + first * sizeof(float)),
                CheckpointError, path_, ": read failed: ", os_error(errno));
    return;
  }
  std::vector<uint16_t> halves(count);
  PARTI_CHECK(read_all(fd_, halves.data(), count * 2, e.begin + first * 2), CheckpointError, path_,
              ": read failed: ", os_error(errno));
  for (size_t i = 0; i < count; ++i) {
    if (e.kind == kF16) {
      out[i] = half_to_float(halves[i]);
    } else {  // BF16: a float's upper half
      const uint32_t bits = static_cast<uint32_t>(halves[i]) << 16;
      std::memcpy(out + i, &bits, sizeof(float));
    }
  }
}

void SafetensorsReader::strip_prefix(const std::string& prefix) {
  std::map<std::string, Entry> renamed;
  for (auto& [name, e] : entries_) {
    const std::string plain = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
    PARTI_CHECK(renamed.emplace(plain, e).second, CheckpointError, path_, ": tensor ", plain,
                " is there with and without the prefix ", prefix);
  }
  entries_ = std::move(renamed);
}

std::map<std::string, std::vector<int64_t>> SafetensorsReader::shapes() const {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& [name, e] : entries_) {
    out.emplace(name, e.shape);
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const SafetensorsReader reader(path);
  reader.verify();
  SafetensorsFile file;
  file.metadata = reader.metadata();
  for (const auto& [name, shape] : reader.shapes()) {
    Tensor t;
    t.shape = shape;
    t.data.resize(numel(shape));
    reader.read(name, 0, t.data.data(), t.data.size());
    file.tensors.emplace(name, std::move(t));
  }
  return file;
}

}  // namespace parti::io
