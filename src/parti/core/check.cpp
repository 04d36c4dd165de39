#include "parti/core/check.h"

namespace parti {

void throw_internal(const char* file, int line, const std::string& message) {
  throw InternalError(str_cat("internal error at ", file, ":", line, ": ", message));
}

}  // namespace parti
