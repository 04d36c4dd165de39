#include <algorithm>
#include <chrono>
#include <thread>

#include "parti/dist/process_group.h"

namespace parti::dist {

void Request::Impl::wait_politely() {
  for (int i = 0; i < 64; ++i) {
    if (test()) {
      return;
    }
  }
  // A transfer under way needs the tests to progress (a non-blocking collective moves only inside
  // MPI calls): sleeps stay short for the first 100 ms. A longer wait is for a peer still
  // computing (a pipeline stage), whose cores the waiter's wake-ups would take: sleeps grow.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  auto pause = std::chrono::microseconds(5);
  while (!test()) {
    std::this_thread::sleep_for(pause);
    const bool long_wait = Clock::now() - start > std::chrono::milliseconds(100);
    pause = std::min(pause * 2, std::chrono::microseconds(long_wait ? 1000 : 100));
  }
}

}  // namespace parti::dist
