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
  auto pause = std::chrono::microseconds(5);
  while (!test()) {
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

}  // namespace parti::dist
