// Metrics: one JSON object per line (JSONL), flushed after each record so a crashed run keeps
// every finished step. A new run starts the file; a resumed one appends to it.
#pragma once

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace parti::io {

// A resumed run's log: removes the records of steps after `step` (written after the checkpoint
// it resumes, by a run that was then killed or stopped: the resumed run writes them again), in
// one atomic replacement. Lines that are not records with a step are kept. A missing file is fine.
void drop_log_records_after(const std::string& path, int64_t step);

class MetricsLog {
 public:
  MetricsLog() = default;  // disabled
  // `fresh`: a new run's log, replacing the file; else (a resumed run's) appended to.
  MetricsLog(const std::string& path, bool fresh);
  // Throws ConfigError naming the file and the system's reason when the write fails (a full
  // disk: a run must not go on believing it logs).
  void write(const nlohmann::ordered_json& record);
  bool enabled() const { return out_.is_open(); }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace parti::io
