// Runs the `parti` binary (or any command) in a shell, capturing stdout+stderr and the exit code.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace parti::test {

struct RunResult {
  int status;          // exit code
  std::string output;  // stdout and stderr together
  std::string last_line() const {
    std::string s = output;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    size_t nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
  }
};

inline RunResult run(const std::string& command) {
  RunResult r{0, ""};
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.output.append(buffer.data(), n);
  int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline RunResult parti(const std::string& args) {
  return run(std::string(PARTI_BINARY) + " " + args);
}

// Brown prepared in `tokenizer`'s ids, shared by the tests of one build: the TestData.Brown
// fixture prepares it once per ctest run; a test executable run outside ctest prepares a missing
// one. Tests read it and never write into it.
inline std::string shared_brown(const std::string& tokenizer = "gpt2") {
  const std::string dir = std::string(PARTI_TEST_DATA_DIR) + "/brown-" + tokenizer;
  if (!std::filesystem::exists(dir + "/meta.json")) {
    const RunResult r = parti("prepare --corpus brown --tokenizer " + tokenizer + " --out " + dir);
    EXPECT_EQ(r.status, 0) << r.output;
  }
  return dir;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Bad input's contract (issue #2, acceptance 6): a non-zero exit and one line
// `parti: error: ...` holding `needle`.
inline void expect_one_line_error(const RunResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("parti: error: ", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos)
      << "expected '" << needle << "' in " << r.output;
}

}  // namespace parti::test
