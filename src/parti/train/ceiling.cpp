#include "parti/train/ceiling.h"

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "parti/core/cpu.h"
#include "parti/io/files.h"

namespace parti::train {
namespace {

std::string cache_dir() {
  if (const char* d = std::getenv("PARTI_CACHE_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d != nullptr && *d != '\0') {
    return std::string(d) + "/parti";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.cache/parti";
  }
  return "";
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      return line.substr(line.find(':') + 2);
    }
  }
  return "unknown CPU";
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  char text[16] = {};
  std::strftime(text, sizeof(text), "%Y-%m-%d", std::gmtime(&now));
  return text;
}

}  // namespace

Ceiling mfu_ceiling(double given_gflops, int threads, bool idle) {
  if (given_gflops > 0) {
    return {given_gflops, "--peak-gflops"};
  }
  const std::string dir = cache_dir();
  const std::string path = dir.empty() ? "" : dir + "/sgemm.json";
  const std::string key = cpu_model() + " | " + core::describe_compute();
  nlohmann::json cache = nlohmann::json::object();
  if (!path.empty()) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    cache = nlohmann::json::parse(text.str(), nullptr, false);
    if (!cache.is_object()) cache = nlohmann::json::object();  // missing or damaged: measure
    const auto hit = cache.find(key);
    if (hit != cache.end() && hit->is_object() && hit->contains("gflops") &&
        (*hit)["gflops"].is_number() && (*hit)["gflops"].get<double>() > 0) {
      return {(*hit)["gflops"].get<double>(),
              fmt::format("sgemm ceiling measured {} at {} threads, cached in {}",
                          hit->value("measured", "?"), threads, path)};
    }
  }
  const double gflops = core::measure_sgemm_gflops(2048, 2048, 2048, 3);
  if (path.empty() || !idle) {
    return {gflops, fmt::format("sgemm ceiling measured now at {} threads{}", threads,
                                idle ? "" : " (more threads than cores: not cached)")};
  }
  cache[key] = {{"gflops", gflops}, {"measured", today()}};
  try {
    io::make_dirs(dir);
    io::write_text_atomically(path, cache.dump(2) + "\n");
  } catch (const std::exception&) {
    return {gflops, fmt::format("sgemm ceiling measured now at {} threads ({} not writable)",
                                threads, path)};
  }
  return {gflops,
          fmt::format("sgemm ceiling measured now at {} threads, cached in {}", threads, path)};
}

}  // namespace parti::train
