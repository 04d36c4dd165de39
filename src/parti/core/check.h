// Errors and checks. Two kinds of check, both on in release builds:
//   PARTI_CHECK(cond, ErrorType, parts...)  something a user can cause (flag, file, checkpoint):
//                                           throws ErrorType with the parts joined as a message.
//   PARTI_ASSERT(cond, parts...)           a broken invariant of our own: throws InternalError.
// `main` catches parti::Error and prints one line `parti: error: <message>`.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace parti {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ConfigError : public Error {  // a flag or a combination of flags
 public:
  using Error::Error;
};
class DataError : public Error {  // corpus, token file, tokenizer files
 public:
  using Error::Error;
};
class CheckpointError : public Error {  // missing, truncated or corrupted checkpoint
 public:
  using Error::Error;
};
class InternalError : public Error {  // a bug in Parti
 public:
  using Error::Error;
};

template <typename... Parts>
std::string str_cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

[[noreturn]] void throw_internal(const char* file, int line, const std::string& message);

}  // namespace parti

#define PARTI_CHECK(cond, ErrorType, ...)             \
  do {                                                \
    if (!(cond)) {                                    \
      throw ErrorType(::parti::str_cat(__VA_ARGS__)); \
    }                                                 \
  } while (false)

#define PARTI_ASSERT(cond, ...)                                                                   \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      ::parti::throw_internal(__FILE__, __LINE__,                                                 \
                              ::parti::str_cat("assertion `" #cond "` failed: ", ##__VA_ARGS__)); \
    }                                                                                             \
  } while (false)
