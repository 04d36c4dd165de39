// Issue #24, acceptance 1: layouts across the nodes of a simulated cluster (scripts/cluster:
// network namespaces, ranks of one node on shared memory, nodes over TCP on links shaped to
// 1 Gbit/s and 1 ms, then also 1% packet loss) each equal the single-process run (the usual
// 1e-5 bounds, tests/support/layout_runs.h); a link cut in the middle of a step ends the job with
// the pending collective named, and the run resumes from its last checkpoint on the node left.
// Where network namespaces cannot be made, every case is skipped with scripts/cluster's reason.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "support/layout_runs.h"

namespace parti {
namespace {

using test::run;
using test::RunResult;

const std::string kCluster = std::string(PARTI_SOURCE_DIR) + "/scripts/cluster --name ptest ";

RunResult cluster(const std::string& args) {
  return run("PARTI_LINK=" + std::string(PARTI_LINK) + " " + kCluster + args);
}

// mpirun -np `np` of `program` inside the cluster: np / nodes ranks on each node, in order.
std::string mpirun(int np, const std::string& program = PARTI_BINARY) {
  return kCluster +
         "run -- env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np " +
         std::to_string(np) + " " + program;
}

// Bytes node `i` has received over its link.
long received(int i) {
  const RunResult r =
      run("ip netns exec ptest-n" + std::to_string(i) + " sh -c 'cat /sys/class/net/ptest-[tv]" +
          std::to_string(i) + "/statistics/rx_bytes'");
  return r.status == 0 ? std::stol(r.output) : -1;
}

// TCP segments node `i` has sent again (lost on the way, or their acknowledgement).
long retransmitted(int i) {
  const RunResult r = run("ip netns exec ptest-n" + std::to_string(i) +
                          " awk '$1 == \"Tcp:\" && $13 ~ /^[0-9]+$/ {print $13}' /proc/net/snmp");
  return r.status == 0 && !r.output.empty() ? std::stol(r.output) : -1;
}

class Cluster : public ::testing::Test {
 protected:
  // Two nodes with links at 1 Gbit/s and 1 ms, and `loss` percent of packets lost.
  void up(const std::string& loss) {
    const RunResult r = cluster("up 2 --inter-gbit 1 --inter-latency-ms 1 --loss-pct " + loss);
    if (r.status == 3) GTEST_SKIP() << r.output;
    ASSERT_EQ(r.status, 0) << r.output;
  }
  void TearDown() override { cluster("down"); }
};

struct ClusterCase {
  std::string name;
  int np;
  std::string layout;
  int micro_batch;
};

const std::vector<ClusterCase>& cases() {
  static const std::vector<ClusterCase> table = {
      {"Dp2AcrossNodes", 2, "--dp 2", 2},
      {"Dp2Tp2TpInsideNodes", 4, "--dp 2 --tp 2", 2},
      {"Pp2AcrossNodes", 2, "--pp 2", 2},
  };
  return table;
}

// Every case's run across the nodes, held to the single-process run.
void run_cases(const std::string& suffix) {
  for (const ClusterCase& c : cases()) {
    const std::string name = c.name + suffix;
    const long before = received(1);
    const RunResult r = run(mpirun(c.np) + test::train_flags(name, c.micro_batch) + " " + c.layout);
    ASSERT_EQ(r.status, 0) << name << "\n" << r.output;
    // The ranks of node 1 took part over the link (a step's activations or gradients at least).
    EXPECT_GT(received(1) - before, 1'000'000) << name;
    test::compare(name);
  }
}

TEST_F(Cluster, LayoutsAcrossNodesEqualOneProcess) {
  up("0");
  if (IsSkipped()) return;
  const RunResult where = run(mpirun(4, "hostname"));
  ASSERT_EQ(where.status, 0) << where.output;
  std::map<std::string, int> per_node;
  std::istringstream lines(where.output);
  for (std::string line; std::getline(lines, line);) ++per_node[line];
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"ptest-n0", 2}, {"ptest-n1", 2}}))
      << where.output;
  run_cases("");
}

TEST_F(Cluster, LayoutsAcrossNodesEqualOneProcessWithOnePercentLoss) {
  up("1");
  if (IsSkipped()) return;
  run_cases("Loss1");
  EXPECT_GT(retransmitted(0) + retransmitted(1), 10) << "packets were lost and sent again";
}

// `parti bench calibrate` across the nodes: a profile of the cluster's shape (2 ranks a node, the
// machine's cores shared by its 2 nodes), a link between nodes slower than the shaped 1 Gbit/s
// and than the one inside a node, whose sends wait for their sender (Open MPI's TCP moves a large
// message only inside MPI calls) and which both ranks of a node share (the first rank of each
// node alone gets about twice the share), and a rate for each attention kernel; `parti plan`
// takes the profile.
TEST_F(Cluster, CalibrationFindsTheNodesAndTheirLink) {
  up("0");
  if (IsSkipped()) return;
  const std::string out = test::work() + "/cluster-profile.json";
  const RunResult r = run(mpirun(4) + " bench calibrate --seconds 0.01 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto h = nlohmann::json::parse(test::slurp(out));
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(h.at("node").at("devices"), 2) << h.dump(2);
  EXPECT_EQ(h.at("node").at("compute_slots"), std::max(1, cores / 2)) << h.dump(2);
  const double inter = h.at("inter").at("bandwidth_gbs"), intra = h.at("intra").at("bandwidth_gbs");
  EXPECT_LT(inter, 0.125) << h.dump(2);
  EXPECT_GT(intra, inter) << h.dump(2);
  EXPECT_TRUE(h.at("inter").at("sends_need_sender").get<bool>()) << r.output;
  EXPECT_EQ(h.at("inter").at("nic_ranks"), 2) << r.output;
  // Both attention kernels the trainer runs are timed: the plain one and the ring's pairs.
  EXPECT_GT(h.at("device").at("attention_tflops").at("fp32").get<double>(), 0.0) << h.dump(2);
  EXPECT_GT(h.at("device").at("flash_attention_tflops").at("fp32").get<double>(), 0.0) << h.dump(2);
  const RunResult plan = run(std::string(PARTI_BINARY) +
                             " plan --model small --global-batch 8 --gpus 4 --hardware " + out);
  EXPECT_EQ(plan.status, 0) << plan.output;
}

// Keeps the last record of each step of run `name`'s log (a resumed run logs again the steps
// after its checkpoint), so that it reads as one run.
void last_record_per_step(const std::string& name) {
  std::map<int, std::string> by_step;
  for (const auto& record : test::records(name)) by_step[record.at("step")] = record.dump();
  std::ofstream out(test::work() + "/" + name + ".jsonl", std::ios::trunc);
  for (const auto& [step, line] : by_step) out << line << "\n";
}

TEST_F(Cluster, CutLinkEndsTheJobWithTheCollectiveNamedAndTheRunResumesOnTheNodeLeft) {
  up("0");
  if (IsSkipped()) return;
  const std::string name = "cut";
  const std::string flags = test::train_flags(name, 2) + " --ckpt-every 2 --comm-timeout 5";
  auto job = std::async(std::launch::async, [&] { return run(mpirun(4) + flags); });
  // Cut node 1's link once four steps are done (checkpoints at 2 and 4).
  const std::string log = test::work() + "/" + name + ".jsonl";
  for (int i = 0;
       i < 1200 && job.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready; ++i) {
    const std::string lines = test::slurp(log);
    if (std::count(lines.begin(), lines.end(), '\n') >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto cut = std::chrono::steady_clock::now();
  ASSERT_EQ(cluster("cut 1").status, 0);
  ASSERT_EQ(job.wait_for(std::chrono::seconds(90)), std::future_status::ready)
      << "the job still runs 90 s after the cut";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cut).count();
  const RunResult r = job.get();
  std::cout << "the job ended " << seconds << " s after the cut, status " << r.status << "\n";
  EXPECT_NE(r.status, 0) << r.output;
  for (const char* needle : {"collective timed out after", "(--comm-timeout 5): waiting in"}) {
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << " in\n" << r.output;
  }
  // Node 1 is gone: the two ranks of node 0 resume at dp 2 (dp 4 before).
  ASSERT_EQ(cluster("drop 1").status, 0);
  const RunResult resumed = run(mpirun(2) + flags + " --resume");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed at step "), std::string::npos) << resumed.output;
  last_record_per_step(name);
  test::compare(name);
}

}  // namespace
}  // namespace parti
