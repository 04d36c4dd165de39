#include "parti/dist/watchdog.h"

#include <cstdio>
#include <cstdlib>

namespace parti::dist {

Watchdog::Watchdog(std::string who) : who_(std::move(who)), thread_([this] { watch(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Watchdog::set_timeout(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  timeout_s_ = seconds;
}

void Watchdog::begin(const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_ = true;
  what_ = what;
  since_ = std::chrono::steady_clock::now();
}

void Watchdog::end() {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_ = false;
  done_.push_back(what_);
  if (done_.size() > kHistory) {
    done_.pop_front();
  }
}

std::string Watchdog::history_locked() const {
  std::string out;
  for (const std::string& d : done_) {
    out += "\n  done: " + d;
  }
  return out.empty() ? "\n  (no collective completed yet)" : out;
}

void Watchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (stop_ || !pending_) {
      continue;
    }
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - since_).count();
    if (waited > timeout_s_) {
      const std::string recent = history_locked();
      std::fprintf(stderr,
                   "parti: error: %s: collective timed out after %.0f s (--comm-timeout %.0f): "
                   "waiting in %s%s\n",
                   who_.c_str(), waited, timeout_s_, what_.c_str(), recent.c_str());
      std::fflush(stderr);
      std::_Exit(124);
    }
  }
}

}  // namespace parti::dist
