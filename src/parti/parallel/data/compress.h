// How a bucket of the flat gradient buffer is summed over the data-parallel group (issue #7):
// GradReducer hands each bucket to a BucketReduction, which starts it and returns one request;
// testing the request advances it (a compressed reduction is several collectives with local
// work between them, so it still overlaps with backward, driven by GradReducer's polls).
// Each phase's collectives go on a group of their own (a duplicate of the dp group), started in
// bucket order: when a bucket's first collective completes differs by rank, and MPI matches the
// non-blocking collectives of one group by the order they start.
//
//   plain     MPI all-reduce of fp32: 2 (p - 1) / p x n x 4 bytes sent per rank (ring)
//   bf16      each rank rounds its bucket to bf16 (round-to-nearest-even) and sends block r of
//             it to rank r (all-to-all); rank r adds the p blocks in fp32 (its own unrounded),
//             rounds the sum to bf16 and all-gathers it: 2 (p - 1) / p x n x 2 bytes, half the
//             plain reduction's. Every rank ends with the same values (its owner's rounding).
//   powersgd  rank-R PowerSGD (Vogels et al., 2019) for each matrix the compression shrinks
//             ((rows + cols) R < rows cols); the bucket's other parameters (biases, norms) go
//             uncompressed in the same all-reduce as the P factors:
//               M = G + E                         error feedback: E is last step's residual
//               P = M Q,  all-reduce P            Q warm-started: last step's reduced Q
//               P <- orthonormal columns of P     (modified Gram-Schmidt, in double)
//               Q = M^T P, all-reduce Q
//               G <- P Q^T                        the sum over ranks, approximated
//               E <- M - P Q^T / p                so sum_ranks E = sum_ranks M - applied
//             2 (p - 1) / p x ((rows + cols) R per matrix + the rest) x 4 bytes.
//             Before `start_step` the reduction is plain (PyTorch's start_powerSGD_iter); E then
//             starts at zero.
// Gradients are sums over the group (the loss is scaled by 1 / global tokens), so the applied
// PowerSGD gradient P Q^T is the approximated sum and each rank keeps M minus its 1/p share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parti/dist/process_group.h"
#include "parti/model/param_table.h"

namespace parti::parallel::data {

enum class Compression { none, bf16, powersgd };

// "none", "bf16", "powersgd"; anything else is a ConfigError naming --grad-compress.
Compression parse_compression(const std::string& name);
const char* compression_name(Compression c);

struct CompressConfig {
  Compression kind = Compression::none;
  int rank = 4;          // PowerSGD's R
  int start_step = 0;    // PowerSGD: plain reductions for optimizer steps before this one
  uint64_t seed = 1337;  // PowerSGD: the initial Q (the same on every dp rank)
};

// bf16 by round-to-nearest-even (NaN stays NaN), and back (exact).
uint16_t to_bf16(float x);
float from_bf16(uint16_t h);

class BucketReduction {
 public:
  // `phases`: collectives one bucket's reduction runs one after the other.
  BucketReduction(dist::ProcessGroup& group, int phases);
  virtual ~BucketReduction();
  // Starts the sum over the group of grads[begin, end), in place; the request completes it.
  // grads stays in use until then.
  virtual dist::Request start(float* grads, size_t begin, size_t end) = 0;
  // Bytes this rank has sent (ring estimates, as comm_bytes), since construction.
  int64_t bytes_sent() const { return bytes_; }
  // The optimizer step whose gradients the next buckets hold (PowerSGD's start step).
  virtual void set_step(int /*step*/) {}
  // State kept between steps (PowerSGD: bytes of Q and the residuals), for memory reports.
  virtual size_t state_bytes() const { return 0; }
  // Back to the state at construction (PowerSGD: zero residuals, Q from the seed): after a step
  // whose gradients were not finite, which the state has absorbed.
  virtual void reset_state() {}

 protected:
  void count(double factor, size_t elements, size_t element_bytes);
  // A bucket's reduction in phases: `first` is phase 0's collective (on the group); once phase
  // j's completes, step(j + 1) does the local work and returns phase j + 1's collective (on
  // phase_group(j + 1)), or nothing when the bucket is done.
  using Step = std::function<std::optional<dist::Request>(int phase)>;
  dist::Request launch(dist::Request first, Step step);
  dist::ProcessGroup& phase_group(int phase);
  dist::ProcessGroup* group_ = nullptr;

 private:
  struct Job;
  class JobRequest;
  void progress();                // advances every bucket as far as completions and order allow
  void complete(const Job& job);  // waits until the bucket is done
  std::deque<std::shared_ptr<Job>> jobs_;  // started and not yet done, in start order
  std::vector<std::unique_ptr<dist::ProcessGroup>> phase_groups_;  // phases 1, 2, ...
  int64_t bytes_ = 0;
};

std::unique_ptr<BucketReduction> make_plain_reduction(dist::ProcessGroup& group);
std::unique_ptr<BucketReduction> make_bf16_reduction(dist::ProcessGroup& group);

class PowerSgd final : public BucketReduction {
 public:
  // `table`: the parameters the gradient buffer holds (their shapes pick the matrices).
  PowerSgd(dist::ProcessGroup& group, const model::ParamTable& table, int rank, int start_step,
           uint64_t seed);
  dist::Request start(float* grads, size_t begin, size_t end) override;
  void set_step(int step) override { step_ = step; }
  size_t state_bytes() const override;
  void reset_state() override;

  // Whether parameter `index` of the table is compressed.
  bool compressed(int index) const { return states_.count(index) > 0; }
  // Per compressed parameter: Q (cols x R) and the residual E (rows x cols), row-major.
  struct State {
    size_t rows, cols;
    std::vector<float> q, residual;
  };
  std::map<int, State>& states() { return states_; }
  const std::map<int, State>& states() const { return states_; }
  // Elements all-reduced per step for the buffer range [begin, end): (rows + cols) R per
  // compressed matrix plus every other element.
  size_t payload(size_t begin, size_t end) const;

 private:
  const model::ParamTable& table_;
  int rank_;
  int start_step_;
  uint64_t seed_;
  int step_ = 0;
  std::map<int, State> states_;
  void draw_q(int index, State& st) const;  // Q from the seed
};

}  // namespace parti::parallel::data
