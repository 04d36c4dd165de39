// parti elastic --np N [--max-restarts R] [--min-np M] [--hostfile F] -- <train flags>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "parti/cli/commands.h"
#include "parti/cli/elastic.h"
#include "parti/core/check.h"
#include "parti/io/checkpoint.h"
#include "parti/io/files.h"

namespace parti::cli {
namespace {

namespace fs = std::filesystem;

// The value of the last `--flag V` or `--flag=V` in args; "" when absent.
std::string last_value(const std::vector<std::string>& args, const std::string& flag) {
  std::string value;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) value = args[i + 1];
    if (args[i].rfind(flag + "=", 0) == 0) value = args[i].substr(flag.size() + 1);
  }
  return value;
}

int int_value(const std::vector<std::string>& args, const std::string& flag, int fallback) {
  const std::string text = last_value(args, flag);
  if (text.empty()) return fallback;
  try {
    return std::stoi(text);
  } catch (const std::exception&) {
    throw ConfigError(str_cat("elastic: train flag ", flag, " ", text, " is not a number"));
  }
}

bool answers(const std::string& host, int port) {
  char here[256] = {};
  ::gethostname(here, sizeof(here) - 1);
  if (host == "localhost" || host == "127.0.0.1" || host == here) return true;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool ok = false;
  for (addrinfo* a = found; a != nullptr && !ok; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int error = 0;
      socklen_t len = sizeof(error);
      ok = ::poll(&p, 1, 2000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
           error == 0;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return ok;
}

volatile sig_atomic_t g_child = 0;

// SIGTERM or SIGINT to elastic: SIGUSR1 to mpirun, which forwards it to every rank in time
// (they checkpoint and exit 4; elastic then stops too).
void forward_stop(int) {
  if (g_child > 0) ::kill(static_cast<pid_t>(g_child), SIGUSR1);
}

// Runs the command; its exit code, or 128 + the signal that ended it.
int run_child(const std::vector<std::string>& argv) {
  std::vector<char*> words;
  for (const std::string& w : argv) words.push_back(const_cast<char*>(w.c_str()));
  words.push_back(nullptr);
  std::cout.flush();
  const pid_t pid = ::fork();
  PARTI_CHECK(pid >= 0, IoError, "elastic: fork failed: ", os_error(errno));
  if (pid == 0) {
    ::execvp(words[0], words.data());
    std::fprintf(stderr, "parti: error: elastic: cannot run %s: %s\n", words[0],
                 std::strerror(errno));
    std::_Exit(127);
  }
  g_child = pid;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string describe(const ElasticLayout& l) {
  return str_cat("dp ", l.dp, " x tp ", l.tp, " x pp ", l.pp, " x cp ", l.cp, " (", l.ranks(),
                 " ranks, micro-batch ", l.micro_batch, ", global batch ", l.global_batch, ")");
}

std::string reason(int code) {
  if (code == 124) return "a collective timed out (--comm-timeout)";
  if (code > 128)
    return str_cat("a process ended by signal ", code - 128, " (", strsignal(code - 128), ")");
  return str_cat("exit code ", code);
}

struct ElasticArgs {
  int np = 0;
  int max_restarts = 3;
  int min_np = 0;  // 0: --np
  std::string hostfile;
  int probe_port = 22;
  std::vector<std::string> train;
};

// The train command line of one attempt: the user's flags, then on a restart `--resume` (their
// own --resume [PATH] and --overwrite dropped; --overwrite when nothing was saved yet) and the
// re-planned layout with the global batch it started with (flags given twice take the last
// value).
std::vector<std::string> attempt_args(const ElasticArgs& a, bool restart, bool resume,
                                      const ElasticLayout& l) {
  std::vector<std::string> out;
  for (size_t i = 0; i < a.train.size(); ++i) {
    const std::string& w = a.train[i];
    if (resume && (w == "--overwrite" || w.rfind("--resume=", 0) == 0)) continue;
    if (resume && w == "--resume") {
      if (i + 1 < a.train.size() && a.train[i + 1].rfind("--", 0) != 0) ++i;  // its PATH
      continue;
    }
    out.push_back(w);
  }
  if (resume) out.push_back("--resume");
  // A restart before any checkpoint starts over: the failed attempt's log is replaced.
  if (restart && !resume && std::find(out.begin(), out.end(), "--overwrite") == out.end()) {
    out.push_back("--overwrite");
  }
  for (const auto& [flag, value] : {std::pair{"--dp", l.dp},
                                    {"--tp", l.tp},
                                    {"--pp", l.pp},
                                    {"--cp", l.cp},
                                    {"--micro-batch", l.micro_batch},
                                    {"--global-batch", l.global_batch}}) {
    // The batch the run started with, whatever dp becomes (an adaptive batch sets its own).
    if (flag == std::string("--global-batch") &&
        std::find(a.train.begin(), a.train.end(), "--adaptive-batch") != a.train.end()) {
      continue;
    }
    out.push_back(flag);
    out.push_back(std::to_string(value));
  }
  return out;
}

// One line per event, printed and appended to <ckpt-dir>/elastic.jsonl.
void record(const std::string& ckpt_dir, const nlohmann::ordered_json& event,
            const std::string& line) {
  std::cout << "elastic: " << line << std::endl;
  io::make_dirs(ckpt_dir);
  std::ofstream(ckpt_dir + "/elastic.jsonl", std::ios::app) << event.dump() << "\n";
}

std::string latest_step(const std::string& ckpt_dir) {
  std::string name;
  std::ifstream(ckpt_dir + "/latest") >> name;
  return name;
}

int run_elastic(ElasticArgs a) {
  PARTI_CHECK(!a.train.empty() && a.train[0] == "train", ConfigError,
              "elastic runs parti train: give its flags after `-- train`");
  a.train.erase(a.train.begin());
  PARTI_CHECK(a.np >= 1 && a.max_restarts >= 0, ConfigError,
              "elastic: --np must be at least 1 and --max-restarts at least 0");
  const int min_np = a.min_np > 0 ? a.min_np : a.np;
  PARTI_CHECK(min_np <= a.np, ConfigError, "elastic: --min-np ", min_np, " exceeds --np ", a.np);
  const std::string ckpt_dir = last_value(a.train, "--ckpt-dir");
  PARTI_CHECK(!ckpt_dir.empty(), ConfigError,
              "elastic: the train flags need --ckpt-dir (restarts resume from it)");
  const ElasticLayout asked = layout_of(a.train, a.np);
  PARTI_CHECK(asked.ranks() == a.np, ConfigError, "elastic: --np ", a.np, " but the train flags ",
              "ask for ", describe(asked));
  char self[4096] = {};
  PARTI_CHECK(::readlink("/proc/self/exe", self, sizeof(self) - 1) > 0, IoError,
              "elastic: cannot find its own binary: ", os_error(errno));
  std::signal(SIGTERM, forward_stop);
  std::signal(SIGINT, forward_stop);
  for (int attempt = 0;; ++attempt) {
    std::vector<std::string> hosts;
    const int available =
        a.hostfile.empty() ? a.np : available_slots(a.hostfile, a.probe_port, &hosts);
    const std::optional<ElasticLayout> layout = fit_layout(asked, std::min(a.np, available));
    PARTI_CHECK(layout && layout->ranks() >= min_np, ConfigError, "elastic: ", available,
                " ranks available, fewer than --min-np ", min_np, " (or no layout of ",
                describe(asked), " fits them)");
    const bool resume = attempt > 0 && io::holds_checkpoints(ckpt_dir);
    std::vector<std::string> argv = {"mpirun", "--oversubscribe", "-np",
                                     std::to_string(layout->ranks())};
    if (!a.hostfile.empty()) {
      const std::string live = ckpt_dir + "/elastic.hosts";  // the hosts that answered
      std::string text;
      for (const std::string& line : hosts) text += line + "\n";
      io::make_dirs(ckpt_dir);
      io::write_text_atomically(live, text);
      argv.insert(argv.end(), {"--hostfile", live});
    }
    argv.insert(argv.end(), {self, "train"});
    for (std::string& w : attempt_args(a, attempt > 0, resume, *layout))
      argv.push_back(std::move(w));
    record(ckpt_dir,
           {{"event", "start"},
            {"attempt", attempt},
            {"ranks", layout->ranks()},
            {"dp", layout->dp},
            {"tp", layout->tp},
            {"pp", layout->pp},
            {"cp", layout->cp},
            {"resume_from", resume ? latest_step(ckpt_dir) : ""}},
           str_cat("attempt ", attempt, ": ", describe(*layout),
                   resume ? ", resuming from " + ckpt_dir + "/" + latest_step(ckpt_dir) : ""));
    const int code = run_child(argv);
    if (code == 0 || code == kExitInput || code == kExitDiverged || code == kExitPreempted) {
      record(ckpt_dir, {{"event", "end"}, {"attempt", attempt}, {"exit", code}},
             code == 0 ? "the run is complete"
                       : str_cat("the run ended with exit code ", code,
                                 " (its input, a divergence or a stop: not restarted)"));
      return code;
    }
    record(ckpt_dir,
           {{"event", "failure"},
            {"attempt", attempt},
            {"exit", code},
            {"why", reason(code)},
            {"latest", latest_step(ckpt_dir)}},
           str_cat("attempt ", attempt, " failed: ", reason(code), "; the newest checkpoint is ",
                   latest_step(ckpt_dir).empty() ? "none" : latest_step(ckpt_dir)));
    if (attempt >= a.max_restarts) {
      throw RunStopped(
          str_cat("elastic: gave up after ", a.max_restarts,
                  " restarts (--max-restarts); the checkpoints in ", ckpt_dir, " are kept"),
          kExitError);
    }
  }
}

}  // namespace

ElasticLayout layout_of(const std::vector<std::string>& args, int np) {
  ElasticLayout l;
  l.tp = int_value(args, "--tp", 1);
  l.pp = int_value(args, "--pp", 1);
  l.cp = int_value(args, "--cp", 1);
  // train's defaults: dp fills the ranks, the global batch is a micro-batch per dp rank.
  l.dp = int_value(args, "--dp", std::max(1, np / std::max(1, l.tp * l.pp * l.cp)));
  l.micro_batch = int_value(args, "--micro-batch", 8);
  l.global_batch = int_value(args, "--global-batch", l.micro_batch * l.dp);
  return l;
}

std::optional<ElasticLayout> fit_layout(const ElasticLayout& asked, int ranks) {
  if (asked.ranks() <= ranks) return asked;
  ElasticLayout l = asked;
  for (l.dp = ranks / (l.tp * l.pp * l.cp); l.dp >= 1; --l.dp) {
    if (l.global_batch % (l.micro_batch * l.dp) == 0) return l;
  }
  return std::nullopt;
}

int available_slots(const std::string& hostfile, int probe_port,
                    std::vector<std::string>* answering) {
  std::ifstream in(hostfile);
  PARTI_CHECK(in.good(), ConfigError, "elastic: --hostfile ", hostfile,
              ": cannot read: ", os_error(errno));
  int slots = 0;
  std::string line;
  while (std::getline(in, line)) {
    const std::string text = line.substr(0, line.find('#'));
    std::istringstream words(text);
    std::string host, word;
    if (!(words >> host)) continue;
    int n = 1;
    while (words >> word) {
      if (word.rfind("slots=", 0) == 0) n = std::atoi(word.c_str() + 6);
    }
    if (!answers(host, probe_port)) continue;
    slots += n;
    answering->push_back(text);
  }
  return slots;
}

void add_elastic(CLI::App& app) {
  auto a = std::make_shared<ElasticArgs>();
  CLI::App* cmd = app.add_subcommand(
      "elastic",
      "run `parti train` under mpirun, restarting it from its newest good checkpoint "
      "when a rank or host fails (on fewer ranks if needed)");
  cmd->add_option("--np", a->np, "ranks to run on (the train flags' layout must use them all)")
      ->required();
  cmd->add_option("--max-restarts", a->max_restarts, "restarts after failures before giving up")
      ->capture_default_str();
  cmd->add_option("--min-np", a->min_np,
                  "fewest ranks to go on with when hosts are lost (default: --np)");
  cmd->add_option("--hostfile", a->hostfile,
                  "Open MPI hostfile, read again before each attempt; hosts that do not answer "
                  "are left out and the layout re-planned for the ranks left");
  cmd->add_option("--probe-port", a->probe_port,
                  "TCP port a host of the hostfile must accept connections on to count (ssh's)")
      ->capture_default_str();
  cmd->add_option("train", a->train, "-- then `train` and its flags")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->callback([a] {
    const int code = run_elastic(*a);
    if (code != 0) throw RunStopped("the run ended without completing", code);
  });
}

}  // namespace parti::cli
