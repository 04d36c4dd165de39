#include "parti/core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "parti/core/check.h"

namespace parti::core {

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  PARTI_CHECK(fd >= 0, IoError, path, ": cannot open: ", os_error(errno));
  std::string text;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    text.reserve(static_cast<size_t>(st.st_size));
  }
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int error = n < 0 ? errno : 0;
      ::close(fd);
      PARTI_CHECK(n == 0, IoError, path, ": read failed: ", os_error(error));
      return text;
    }
    text.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace parti::core
