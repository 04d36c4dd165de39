#include "parti/io/metrics.h"

#include <cerrno>
#include <filesystem>

#include "parti/core/check.h"
#include "parti/io/files.h"

namespace parti::io {

namespace {

std::string with_parent(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ignored;  // a failure shows up as the open failing below
    std::filesystem::create_directories(parent, ignored);
    errno = 0;
  }
  return path;
}

}  // namespace

void drop_log_records_after(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in.good()) return;
  std::string kept, line;
  bool dropped = false;
  while (std::getline(in, line)) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.contains("step") && record["step"].is_number() &&
        record["step"].get<double>() > static_cast<double>(step)) {
      dropped = true;
      continue;
    }
    kept += line + "\n";
  }
  PARTI_CHECK(!in.bad(), ConfigError, "--log ", path, ": cannot read: ", os_error(errno));
  if (dropped) write_text_atomically(path, kept);
}

MetricsLog::MetricsLog(const std::string& path, bool fresh)
    : path_(path), out_(with_parent(path), fresh ? std::ios::trunc : std::ios::app) {
  PARTI_CHECK(out_.good(), ConfigError, "--log ", path, ": cannot open for ",
              fresh ? "writing: " : "appending: ", os_error(errno));
}

void MetricsLog::write(const nlohmann::ordered_json& record) {
  if (out_.is_open()) {
    errno = 0;
    out_ << record.dump() << '\n';
    out_.flush();
    PARTI_CHECK(out_.good(), ConfigError, "--log ", path_, ": write failed: ", os_error(errno));
  }
}

}  // namespace parti::io
