// parti-link: the links between the nodes of a simulated cluster (scripts/cluster, issue #24),
// in user space, for kernels built without netem (the `tc` delay and loss qdisc).
//
// One TAP device per node (scripts/cluster moves each into its node's network namespace); every
// Ethernet frame a node sends leaves through its own link: it waits for the link to be free,
// takes its size / rate to send, arrives --latency-ms later, and is lost with probability
// --loss-pct (as netem with a rate on each node's veth would do). A frame goes to the node
// whose address it names (learned from the frames each node sends), or to every other node
// (broadcast, or an address not yet seen). A link's queue holds at most --queue-ms of sending
// time; frames beyond are dropped, as a full queue would. A node whose device is down (ip link
// set down: a cut link) neither sends nor receives. Runs until SIGINT or SIGTERM.
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Mac = std::array<uint8_t, 6>;

struct Options {
  std::vector<std::string> taps;
  double gbit = 0;  // 0: no rate limit
  double latency_ms = 0;
  double loss_pct = 0;
  double queue_ms = 50;
  int mtu = 9000;
  uint64_t seed = 1;
  std::string ready;  // a file written once every device exists
};

struct Frame {
  Clock::time_point due;
  uint64_t order;
  int to;
  std::vector<uint8_t> bytes;
  bool operator>(const Frame& o) const { return due != o.due ? due > o.due : order > o.order; }
};

volatile sig_atomic_t stop = 0;
void on_signal(int) { stop = 1; }

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "parti-link: error: %s\n", what.c_str());
  std::exit(1);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

double number(const char* flag, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v) || v < 0) {
    fail(std::string(flag) + " takes a non-negative number, got '" + text + "'");
  }
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) fail(flag + " needs a value (see the head of src/tools/parti_link.cpp)");
    const char* value = argv[++i];
    if (flag == "--taps") {
      o.taps = split(value);
    } else if (flag == "--gbit") {
      o.gbit = number("--gbit", value);
    } else if (flag == "--latency-ms") {
      o.latency_ms = number("--latency-ms", value);
    } else if (flag == "--loss-pct") {
      o.loss_pct = number("--loss-pct", value);
      if (o.loss_pct >= 100) fail("--loss-pct must be below 100");
    } else if (flag == "--queue-ms") {
      o.queue_ms = number("--queue-ms", value);
    } else if (flag == "--mtu") {
      o.mtu = static_cast<int>(number("--mtu", value));
    } else if (flag == "--seed") {
      o.seed = static_cast<uint64_t>(number("--seed", value));
    } else if (flag == "--ready") {
      o.ready = value;
    } else {
      fail("unknown flag " + flag);
    }
  }
  if (o.taps.size() < 2) fail("--taps needs two or more device names, comma-separated");
  return o;
}

int open_tap(const std::string& name) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail("/dev/net/tun: " + std::string(std::strerror(errno)));
  ifreq req{};
  req.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (name.size() >= IFNAMSIZ) fail("device name too long: " + name);
  std::memcpy(req.ifr_name, name.c_str(), name.size());
  if (::ioctl(fd, TUNSETIFF, &req) < 0) {
    fail("making TAP device " + name + ": " + std::strerror(errno));
  }
  return fd;
}

class Links {
 public:
  explicit Links(const Options& o)
      : o_(o), busy_(o.taps.size(), Clock::now()), rng_(o.seed), lose_(o.loss_pct / 100) {}

  // A frame node `from` sent at `now`: queued on its link, then to its destinations.
  void send(int from, std::vector<uint8_t> bytes, Clock::time_point now) {
    if (bytes.size() < 14) return;
    Mac dst, src;
    std::memcpy(dst.data(), bytes.data(), 6);
    std::memcpy(src.data(), bytes.data() + 6, 6);
    where_[src] = from;
    if (lose_(rng_)) return;
    Clock::time_point start = std::max(now, busy_[from]);
    if (start - now > ms(o_.queue_ms)) return;  // the link's queue is full
    Clock::time_point sent = start;
    if (o_.gbit > 0) {
      sent = start + seconds(static_cast<double>(bytes.size()) * 8 / (o_.gbit * 1e9));
      busy_[from] = sent;
    }
    const Clock::time_point due = sent + ms(o_.latency_ms);
    const auto known = where_.find(dst);
    const bool one = !(dst[0] & 1) && known != where_.end();
    for (int to = 0; to < static_cast<int>(o_.taps.size()); ++to) {
      if (to == from || (one && to != known->second)) continue;
      pending_.push(Frame{due, order_++, to, bytes});
    }
  }

  bool empty() const { return pending_.empty(); }
  Clock::time_point next() const { return pending_.top().due; }

  // Writes every frame due by `now` (a device that is down or full drops it, as a wire would).
  void deliver(const std::vector<int>& fds, Clock::time_point now) {
    while (!pending_.empty() && pending_.top().due <= now) {
      const Frame& f = pending_.top();
      [[maybe_unused]] const ssize_t n = ::write(fds[f.to], f.bytes.data(), f.bytes.size());
      pending_.pop();
    }
  }

 private:
  static Clock::duration ms(double v) { return seconds(v / 1e3); }
  static Clock::duration seconds(double v) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(v));
  }

  const Options& o_;
  std::vector<Clock::time_point> busy_;
  std::map<Mac, int> where_;
  std::priority_queue<Frame, std::vector<Frame>, std::greater<>> pending_;
  uint64_t order_ = 0;
  std::mt19937_64 rng_;
  std::bernoulli_distribution lose_;
};

void run(const Options& o, const std::vector<int>& fds) {
  Links links(o);
  std::vector<pollfd> polls;
  for (int fd : fds) polls.push_back(pollfd{fd, POLLIN, 0});
  std::vector<uint8_t> buffer(static_cast<size_t>(o.mtu) + 64);
  while (!stop) {
    timespec wait{1, 0};
    if (!links.empty()) {
      const auto left = std::max(Clock::duration::zero(), links.next() - Clock::now());
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      wait = timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    }
    if (::ppoll(polls.data(), polls.size(), &wait, nullptr) < 0 && errno != EINTR) {
      fail(std::string("ppoll: ") + std::strerror(errno));
    }
    for (size_t i = 0; i < polls.size(); ++i) {
      if (!(polls[i].revents & POLLIN)) continue;
      for (;;) {  // every frame waiting on this device
        const ssize_t n = ::read(fds[i], buffer.data(), buffer.size());
        if (n <= 0) break;
        links.send(static_cast<int>(i), std::vector<uint8_t>(buffer.begin(), buffer.begin() + n),
                   Clock::now());
      }
    }
    links.deliver(fds, Clock::now());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::vector<int> fds;
  for (const auto& name : o.taps) fds.push_back(open_tap(name));
  if (!o.ready.empty()) std::ofstream(o.ready) << ::getpid() << "\n";
  run(o, fds);
  return 0;
}
