// Hang diagnosis: every collective and point-to-point wait of this rank is announced to the
// watchdog (op, group, element count, per-group sequence number). A background thread checks
// once a second; when one wait has lasted longer than the time-out it prints the pending
// operation and the last few completed ones and ends the process with exit status 124, which
// makes mpirun end the whole job (instead of every other rank waiting forever).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace parti::dist {

class Watchdog {
 public:
  explicit Watchdog(std::string who);  // "rank 3"
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  void set_timeout(double seconds);
  void begin(const std::string& what);  // a wait starts
  void end();                           // it completed

 private:
  void watch();
  std::string history_locked() const;  // the last completed operations, oldest first
  static constexpr size_t kHistory = 8;
  std::string who_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  double timeout_s_ = 600.0;
  bool pending_ = false;
  std::string what_;
  std::chrono::steady_clock::time_point since_;
  std::deque<std::string> done_;
  std::thread thread_;
};

}  // namespace parti::dist
