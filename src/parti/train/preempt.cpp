#include "parti/train/preempt.h"

#include <csignal>

namespace parti::train {
namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGUSR1};
volatile std::sig_atomic_t g_received = 0;
struct sigaction g_previous[3];

extern "C" void on_stop_signal(int signal) {
  if (g_received == signal) {  // the second one: its default action, now
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  if (g_received == 0) {
    g_received = signal;
  }
}

}  // namespace

StopSignals::StopSignals() {
  g_received = 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int i = 0; i < 3; ++i) {
    sigaction(kSignals[i], &action, &g_previous[i]);
  }
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 3; ++i) {
    sigaction(kSignals[i], &g_previous[i], nullptr);
  }
}

int StopSignals::received() const { return g_received; }

const char* signal_name(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "a signal";
  }
}

}  // namespace parti::train
