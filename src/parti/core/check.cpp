#include "parti/core/check.h"

#include <system_error>

namespace parti {

void throw_internal(const char* file, int line, const std::string& message) {
  throw InternalError(str_cat("internal error at ", file, ":", line, ": ", message));
}

std::string os_error(int error) {
  if (error == 0) {
    return "no error code from the system (the file ended early?)";
  }
  return str_cat(std::generic_category().message(error), " (errno ", error, ")");
}

}  // namespace parti
