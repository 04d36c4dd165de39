#include "parti/io/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "parti/core/check.h"

namespace parti::io {

namespace fs = std::filesystem;

void make_dirs(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  PARTI_CHECK(!error, IoError, dir, ": cannot create the folder: ", os_error(error.value()));
}

void remove_tree(const std::string& path) {
  std::error_code error;
  fs::remove_all(path, error);
  PARTI_CHECK(!error, IoError, path, ": cannot remove: ", os_error(error.value()));
}

void rename_path(const std::string& from, const std::string& to) {
  PARTI_CHECK(::rename(from.c_str(), to.c_str()) == 0, IoError, from, ": cannot rename to ", to,
              ": ", os_error(errno));
}

void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  PARTI_CHECK(fd >= 0, IoError, path, ": cannot open to flush: ", os_error(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  PARTI_CHECK(rc == 0, IoError, path, ": fsync failed: ", os_error(error));
}

void write_text(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  PARTI_CHECK(file != nullptr, IoError, path, ": cannot create: ", os_error(errno));
  errno = 0;
  const bool written =
      std::fwrite(text.data(), 1, text.size(), file) == text.size() && std::fflush(file) == 0;
  const int write_error = errno;
  const bool closed = std::fclose(file) == 0;
  PARTI_CHECK(written && closed, IoError, path,
              ": write failed: ", os_error(written ? errno : write_error));
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  write_text(tmp, text);
  sync_path(tmp);
  rename_path(tmp, path);
}

void replace_folder(const std::string& tmp, const std::string& dir) {
  sync_path(tmp);
  if (!fs::exists(dir)) {
    rename_path(tmp, dir);
    return;
  }
  PARTI_CHECK(::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0,
              IoError, tmp, ": cannot put in place of ", dir, ": ", os_error(errno));
  remove_tree(tmp);  // now the old folder
}

}  // namespace parti::io
