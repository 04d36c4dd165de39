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
class IoError : public Error {  // the system refused a read or a write (io/files.h)
 public:
  using Error::Error;
};
class InternalError : public Error {  // a bug in Parti
 public:
  using Error::Error;
};

// Exit codes of `parti` (docs/design.md, "Guarding a run"): 0 done, 1 a failure of the run (a
// rank, the system, a bug: `parti elastic` restarts it), 2 its input (a flag, a file, the data, a
// checkpoint: ConfigError, DataError, CheckpointError; fix it, then rerun), 3 stopped by the step
// guard (too many skipped steps in a row), 4 stopped by a signal (SIGTERM, SIGINT, SIGUSR1) or
// --time-limit after writing a checkpoint.
constexpr int kExitError = 1;
constexpr int kExitInput = 2;
constexpr int kExitDiverged = 3;
constexpr int kExitPreempted = 4;

// A run that ended early on purpose, on every rank alike (every rank reached the same verdict):
// not an error of one rank, so `main` prints the message once (rank 0) and every rank exits
// with `code` after a normal shutdown.
class RunStopped : public std::runtime_error {
 public:
  RunStopped(const std::string& message, int code) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// An error of the set-up checks that every rank of the job learned of (train/agree.h,
// agree_on_checks): the rank that found it (the lowest, when several did) reports it, naming
// itself; every rank exits with `code` after a normal shutdown, without MPI_Abort.
class AgreedError : public std::runtime_error {
 public:
  AgreedError(const std::string& message, int code, bool report)
      : std::runtime_error(message), code_(code), report_(report) {}
  int code() const { return code_; }
  bool report() const { return report_; }

 private:
  int code_;
  bool report_;
};

template <typename... Parts>
std::string str_cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

[[noreturn]] void throw_internal(const char* file, int line, const std::string& message);

// Why the operating system refused: "No space left on device (errno 28)". Pass errno as it was
// right after the failing call; 0 (a stream that failed without an OS error, a file that ended
// early) says so instead.
std::string os_error(int error);

}  // namespace parti

#define PARTI_CHECK(cond, ErrorType, ...)             \
  do {                                                \
    if (!(cond)) {                                    \
      throw ErrorType(::parti::str_cat(__VA_ARGS__)); \
    }                                                 \
  } while (false)

#define PARTI_ASSERT(cond, ...)                                                           \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      ::parti::throw_internal(                                                            \
          __FILE__, __LINE__,                                                             \
          ::parti::str_cat("assertion `" #cond "` failed: " __VA_OPT__(, ) __VA_ARGS__)); \
    }                                                                                     \
  } while (false)
