// Scratch folders for tests. ctest runs every case of an executable as a process of its own and
// the sanitizer stage runs two at a time, so no two cases may share a fixed path under /tmp: each
// process writes under a folder named with its pid, removed when it exits (set
// PARTI_KEEP_SCRATCH=1 to keep it for a look after a failure).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace parti::test {

inline const std::filesystem::path& scratch_dir() {
  struct Folder {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("parti-test-" + std::to_string(::getpid()));
    Folder() {
      std::filesystem::remove_all(path);
      std::filesystem::create_directories(path);
    }
    ~Folder() {
      std::error_code ignored;
      if (std::getenv("PARTI_KEEP_SCRATCH") == nullptr) std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}

// `name` inside this process's scratch folder.
inline std::string scratch(const std::string& name) { return (scratch_dir() / name).string(); }

}  // namespace parti::test
