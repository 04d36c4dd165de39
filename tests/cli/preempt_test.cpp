// Preemption (issue #18): SIGTERM at a random moment of a 4-rank run (to one rank only: the
// ranks agree at the step's end), SIGUSR1 to mpirun (which forwards it) and --time-limit each
// end the run after a checkpoint at the next step boundary with exit code 4; the resumed run
// equals the uninterrupted one bit for bit.
#include <gtest/gtest.h>

#include <random>

#include "support/layout_runs.h"

namespace parti::test {

namespace {

const std::string kLayout = " --dp 2 --tp 2 --zero 1";

std::string command(const std::string& name, int steps = 20) {
  return mpirun(4) + train_flags(name, 4, steps) + kLayout;
}

// Starts `cmd` in the background, waits until run `name` has logged `steps` steps and `delay`
// seconds more, sends `signal` to `target` ("rank": mpirun's last child, "mpirun": mpirun), and
// returns the output with "rc=N" last.
RunResult interrupt(const std::string& cmd, const std::string& name, int steps, double delay,
                    const std::string& signal, const std::string& target) {
  const std::string log = work() + "/" + name + ".jsonl";
  const std::string pid = target == "mpirun" ? "$mp" : "$(pgrep -P $mp | tail -1)";
  return run("bash -c '" + cmd + " & mp=$!; while [ \"$(cat " + log +
             " 2>/dev/null | wc -l)\" -lt " + std::to_string(steps) + " ]; do sleep 0.02; done; " +
             "sleep " + std::to_string(delay) + "; kill -" + signal + " " + pid +
             "; wait $mp; echo rc=$?'");
}

int64_t stopped_at(const RunResult& r, const std::string& what) {
  const size_t at = r.output.find(what + " after step ");
  EXPECT_NE(at, std::string::npos) << r.output;
  return at == std::string::npos ? -1 : std::stoll(r.output.substr(at + what.size() + 12));
}

TEST(Preempt, SigtermToOneRankOfFourCheckpointsAndResumesBitForBit) {
  auto r = run(command("straight"));
  ASSERT_EQ(r.status, 0) << r.output;
  std::random_device random;
  const int after = 2 + static_cast<int>(random() % 12);
  const double delay = static_cast<double>(random() % 300) / 1000.0;
  std::cout << "SIGTERM to one rank " << delay << " s after step " << after << "\n";
  r = interrupt(command("stopped"), "stopped", after, delay, "TERM", "rank");
  EXPECT_EQ(r.last_line(), "rc=4") << r.output;
  const int64_t step = stopped_at(r, "preempted by SIGTERM");
  EXPECT_GE(step, after);
  char folder[32];
  std::snprintf(folder, sizeof(folder), "step_%08lld", static_cast<long long>(step));
  EXPECT_NE(r.output.find("checkpoint " + work() + "/stopped/" + folder +
                          "; continue with "
                          "--resume"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(losses("stopped").size(), static_cast<size_t>(step));
  r = run(command("stopped") + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<double> a = losses("straight"), b = losses("stopped");
  ASSERT_EQ(a.size(), 20u);
  ASSERT_EQ(b.size(), 20u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i], b[i]) << "step " << i + 1;
  }
  for (const char* file : {"model.safetensors", "optim.safetensors"}) {
    EXPECT_EQ(slurp(work() + "/straight/step_00000020/" + file),
              slurp(work() + "/stopped/step_00000020/" + file))
        << file << " differs";
  }
}

TEST(Preempt, SigusrOneToMpirunAndTimeLimitCheckpointAndStop) {
  auto r = interrupt(mpirun(2) + train_flags("usr1", 4, 200) + " --dp 2", "usr1", 3, 0.0, "USR1",
                     "mpirun");
  EXPECT_EQ(r.last_line(), "rc=4") << r.output;
  const int64_t step = stopped_at(r, "preempted by SIGUSR1");
  EXPECT_TRUE(fs::exists(work() + "/usr1/latest")) << r.output;
  EXPECT_EQ(losses("usr1").size(), static_cast<size_t>(step));
  r = parti(train_flags("timed", 8, 100000) + " --time-limit 0.02");  // 1.2 s
  EXPECT_EQ(r.status, 4) << r.output;
  stopped_at(r, "--time-limit of 0.02 minutes reached");
  EXPECT_TRUE(fs::exists(work() + "/timed/latest")) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n') > 0, true);
}

}  // namespace
}  // namespace parti::test
