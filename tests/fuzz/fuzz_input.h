// What the fuzz targets share: each reader under test takes a path, so an input is written to a
// file of this process's own scratch folder first; and the rule every target checks: an input
// may only fail with the error type that names the file (CheckpointError, DataError). Any other
// exception (an InternalError, a JSON library's own, std::bad_alloc) escapes, and libFuzzer
// reports it as a crash with the input that caused it.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace parti::fuzz {

inline const std::string& scratch() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string d =
        std::string(tmp != nullptr ? tmp : "/tmp") + "/parti-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes the input to scratch()/name and returns that path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.flush();
  if (!out.good()) {
    std::abort();  // the scratch folder itself failed: not the input's doing
  }
  return path;
}

// A broken property of an accepted input: abort, which libFuzzer records as a crash.
inline void require(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace parti::fuzz
