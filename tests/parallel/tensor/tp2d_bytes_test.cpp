// Issue #21, acceptance 3: what one GPT-2 block sends per rank (forward and backward), counted on
// its process groups (CountingGroup::sent_elements), at 1D tp 4 against a 2 x 2 grid and at 1D
// tp 16 against a 4 x 4 grid, for a micro-batch of fewer tokens than the width and one of many
// more. Each count must equal the closed form below, and the grid must send less exactly when
// tokens per micro-batch exceed the crossover the closed form gives (16 ranks, oversubscribed:
// bytes only, no timing). Exit status 1 on any mismatch.
//
// Per rank, M tokens of a micro-batch, width C, bandwidth-optimal collectives:
//   1D tp p     4 all-reduces of M C (2 a direction)                     8 (p - 1) / p M C
//   2D q x q    each of the 4 products (K, N): forward q broadcasts of x blocks (M K / q in all)
//               and of W blocks (K N / q), backward both again and a reduce of each size, all
//               along q ranks: 3 (q - 1) / q (M K / q + K N / q) over sum K = 7 C and
//               sum K N = 12 C^2; the biases' column all-reduces (backward: 3C + C + 4C + C over
//               q); the two norms' row all-reduces (forward mean and variance, backward two
//               sums: 8 M / q in all) and their weights' column all-reduces (backward, 4 C / q);
//               every all-reduce sending 2 (q - 1) / q of its buffer
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "parti/core/arena.h"
#include "parti/core/rng.h"
#include "parti/dist/counting_group.h"
#include "parti/dist/mpi_env.h"
#include "parti/model/gpt2/block.h"
#include "parti/parallel/tensor/mappings.h"
#include "support/part_runs.h"

namespace {

using parti::dist::CountingGroup;
using parti::model::ParamTable;
using parti::model::Pass;
using parti::model::TpRank;

using parti::test::expect;
using parti::test::failures;

// Runs one block forward and backward on a pass with `tp` (its groups already counted).
void run_block(const TpRank& rank, const parti::parallel::tensor::TensorParallel& tp, int B, int T,
               int C, int NH) {
  ParamTable table(rank);
  parti::model::gpt2::Block<float> block(table, "h.0", C, NH);
  std::vector<float> params(table.total()), grads(table.total(), 0.0f);
  table.init_values(params.data(), 3, 1);
  parti::core::Arena arena;
  parti::model::ActivationRecord<float> record(table.modules());
  Pass<float> pass{B, T, table, params.data(), grads.data(), arena, record};
  pass.tp = &tp;
  const size_t n = pass.local_numel(C);
  std::vector<float> x(n), y(n), dy(n), dx(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(parti::core::random_normal(1, 1, i));
    dy[i] = static_cast<float>(parti::core::random_normal(1, 2, i));
  }
  block.forward(pass, x.data(), y.data());
  block.backward(pass, dy.data(), dx.data());
}

double closed_1d(int p, double M, double C) { return 8.0 * (p - 1) / p * M * C; }

double closed_2d(int q, double M, double C) {
  const double f = (q - 1.0) / q;
  const double products = 3.0 * f * (M * 7.0 * C / q + 12.0 * C * C / q);
  const double biases = 2.0 * f * 9.0 * C / q;
  const double norms = 2.0 * f * (8.0 * M / q + 4.0 * C / q);
  return products + biases + norms;
}

struct Groups {
  std::unique_ptr<parti::dist::ProcessGroup> tp, row, col;
};

// Per-rank elements sent at 1D tp p (p consecutive world ranks) and on a q x q grid of them.
void compare(const parti::dist::MpiEnv& env, int p, int B, int T, int C, int NH) {
  const int q = static_cast<int>(std::lround(std::sqrt(p)));
  const int group = env.rank() / p, r = env.rank() % p;
  Groups g;
  g.tp = env.splitter()(group, r, "tp");
  g.row = env.splitter()(group * q + r / q, r % q, "tp_row");
  g.col = env.splitter()(group * q + r % q, r / q, "tp_col");
  CountingGroup tp(*g.tp), rows(*g.row), cols(*g.col);
  run_block(TpRank{r, p}, parti::parallel::tensor::make_tensor_parallel(tp, false), B, T, C, NH);
  const double sent_1d = tp.sent_elements();
  tp.clear();
  run_block(TpRank{r, p, q}, parti::parallel::tensor::make_block_parallel(tp, rows, cols, q), B, T,
            C, NH);
  const double sent_2d = tp.sent_elements() + rows.sent_elements() + cols.sent_elements();
  const double M = static_cast<double>(B) * T;
  const double want_1d = closed_1d(p, M, C), want_2d = closed_2d(q, M, C);
  const std::string shape = "tp " + std::to_string(p) + ", " + std::to_string(B * T) +
                            " tokens, width " + std::to_string(C);
  expect(std::abs(sent_1d - want_1d) <= 1e-9 * want_1d,
         shape + ": 1D sent " + std::to_string(sent_1d) + ", formula " + std::to_string(want_1d));
  expect(std::abs(sent_2d - want_2d) <= 1e-9 * want_2d,
         shape + ": 2D sent " + std::to_string(sent_2d) + ", formula " + std::to_string(want_2d));
  // The closed forms cross where 8 (p-1)/p M C = 2D's; 2D must send less exactly beyond it.
  double crossover = 1.0;
  while (closed_2d(q, crossover, C) >= closed_1d(p, crossover, C)) crossover += 1.0;
  expect((sent_2d < sent_1d) == (M >= crossover),
         shape + ": the grid sends less only past " + std::to_string(crossover) + " tokens");
  if (env.rank() == 0) {
    std::printf(
        "%-34s bytes per rank: 1D tp %2d %10.0f, 2D %d x %d %10.0f (%.2fx); "
        "2D sends less from %.0f tokens (%.1f x the width)\n",
        shape.c_str(), p, 4 * sent_1d, q, q, 4 * sent_2d, sent_2d / sent_1d, crossover,
        crossover / C);
  }
}

}  // namespace

int main(int argc, char** argv) {
  parti::dist::MpiEnv env(&argc, &argv);
  parti::test::world_rank = env.rank();
  if (env.size() != 16) {
    std::fprintf(stderr, "run on 16 ranks, not %d\n", env.size());
    return 1;
  }
  const int C = 32, NH = 16;  // 16 heads of 2: tp 16 splits them
  for (int p : {4, 16}) {
    compare(env, p, 4, 4, C, NH);    // 16 tokens: fewer than the width
    compare(env, p, 4, 128, C, NH);  // 512 tokens: 16 x the width
  }
  auto world = env.world();
  double total = failures;
  world->all_reduce(&total, 1, parti::dist::ReduceOp::sum);
  if (env.rank() == 0) {
    std::printf("block traffic: %s\n", total == 0 ? "every count equals its formula" : "FAILURES");
  }
  return total == 0 ? 0 : 1;
}
