// Issue #21: each block-partitioned layer against the plain one (acceptance 1) and its grid
// traffic against SUMMA's formula (acceptance 3). Run under mpirun by ctest with the world a
// q x q grid (4 ranks: q 2; 9: q 3), in double, so the only differences are summation orders
// (bound 1e-10 relative). Every rank builds the plain layer (tp 1) and its block (grid rank
// (i, j)) from the same seed, runs forward and backward of the same input and output gradient,
// and compares its block of the output and of the input gradient, and every parameter gradient
// it holds (by global index: a part the grid column shares is compared on every rank that holds
// it). Exit status 1 on any mismatch.
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "parti/core/arena.h"
#include "parti/core/rng.h"
#include "parti/dist/counting_group.h"
#include "parti/dist/mpi_env.h"
#include "parti/model/config.h"
#include "parti/model/gpt2/attention.h"
#include "parti/model/gpt2/block.h"
#include "parti/model/gpt2/layernorm.h"
#include "parti/model/gpt2/mlp.h"
#include "parti/model/llama/block.h"
#include "parti/model/registry.h"
#include "parti/parallel/tensor/linear.h"
#include "parti/parallel/tensor/mappings.h"
#include "support/part_runs.h"

namespace {

using parti::dist::CountingGroup;
using parti::model::ActivationRecord;
using parti::model::Module;
using parti::model::ParamSpec;
using parti::model::ParamTable;
using parti::model::Pass;
using parti::model::TpRank;
using parti::parallel::tensor::Scratch;

using parti::test::compare_grads;
using parti::test::expect;
using parti::test::failures;
using parti::test::random_vector;
using parti::test::relative_error;
using parti::test::Run;

// The grid: the world as q x q, rank = row q + col, with counted row and column groups.
struct Grid {
  int q, row, col;
  CountingGroup* all;  // the tp group: block partitioning sends nothing over it
  CountingGroup* rows;
  CountingGroup* cols;
  void clear() const {
    all->clear();
    rows->clear();
    cols->clear();
  }
};

// The grid's context for `run` (null grid: none).
Pass<double> grid_pass(Run& run, int B, int T, const Grid* grid) {
  if (grid == nullptr) {
    return run.pass(B, T, nullptr);
  }
  run.context =
      parti::parallel::tensor::make_block_parallel(*grid->all, *grid->rows, *grid->cols, grid->q);
  return run.pass(B, T, &run.context);
}

// Rank (i, j)'s block of a (B, T, C) activation: samples i B/q .., width j C/q ...
std::vector<double> block_of(const std::vector<double>& whole, int B, int T, int C, const Grid& g) {
  const int b0 = g.row * B / g.q, Cl = C / g.q;
  std::vector<double> out;
  for (int b = b0; b < b0 + B / g.q; ++b) {
    for (int t = 0; t < T; ++t) {
      const double* r = whole.data() + (static_cast<size_t>(b) * T + t) * C + g.col * Cl;
      out.insert(out.end(), r, r + Cl);
    }
  }
  return out;
}

// The grid traffic a layer should make, per rank and phase (op -> calls, elements), by summing
// its SUMMA products and norms (summa.h, grid_norm.h).
struct Traffic {
  std::map<std::string, std::pair<long long, long long>> rows, cols;
  void add(std::map<std::string, std::pair<long long, long long>>& m, const std::string& op,
           long long calls, long long elements) {
    m[op].first += calls;
    m[op].second += elements;
  }
};
struct Expected {
  Traffic forward, backward;
  long long M;  // tokens per rank
  int q;
  // A linear layer of K inputs and N outputs: q broadcasts of each block, each way; backward
  // reduces the products of both and all-reduces the bias's column share.
  void linear(long long K, long long N, bool bias) {
    for (Traffic* t : {&forward, &backward}) {
      t->add(t->rows, "broadcast", q, M * K);
      t->add(t->cols, "broadcast", q, K * N / q);
    }
    backward.add(backward.rows, "reduce", q, M * K);
    backward.add(backward.cols, "reduce", q, K * N / q);
    if (bias) backward.add(backward.cols, "all_reduce", 1, N / q);
  }
  void layernorm(long long C) {  // mean, variance; two sums per row; the 2 C / q gradients
    forward.add(forward.rows, "all_reduce", 2, 2 * M);
    backward.add(backward.rows, "all_reduce", 1, 2 * M);
    backward.add(backward.cols, "all_reduce", 1, 2 * C / q);
  }
  void rmsnorm(long long C) {
    forward.add(forward.rows, "all_reduce", 1, M);
    backward.add(backward.rows, "all_reduce", 1, M);
    backward.add(backward.cols, "all_reduce", 1, C / q);
  }
};

void expect_traffic(const Grid& g, const Traffic& t, const std::string& what) {
  const auto check = [&](const CountingGroup& group, const auto& want, const char* axis) {
    std::string got;
    for (const auto& [op, c] : group.counts()) {
      got += " " + op + " " + std::to_string(c.calls) + " x " + std::to_string(c.elements);
    }
    bool ok = group.counts().size() == want.size();
    for (const auto& [op, w] : want) {
      const CountingGroup::Count c = group.count(op);
      ok = ok && c.calls == w.first && c.elements == w.second;
    }
    expect(ok, what + ": " + axis + " traffic" + got);
  };
  check(*g.rows, t.rows, "grid row");
  check(*g.cols, t.cols, "grid column");
  expect(g.all->counts().empty(), what + ": traffic on the whole tp group");
}

using MakeModule =
    std::function<std::unique_ptr<Module<double>>(ParamTable& table, const std::string& prefix)>;

void check_module(const std::string& name, const MakeModule& make, const Grid& g, int C,
                  const std::function<void(Expected&)>& traffic) {
  const int B = 2 * g.q, T = 8;
  const size_t n = static_cast<size_t>(B) * T * C;
  ParamTable whole_table, part_table(TpRank{g.row * g.q + g.col, g.q * g.q, g.q});
  auto whole_module = make(whole_table, "h.0");
  auto part_module = make(part_table, "h.0");
  Run whole(whole_table), part(part_table);
  const std::vector<double> x = random_vector(n, 1), dout = random_vector(n, 2);
  const std::vector<double> x_part = block_of(x, B, T, C, g),
                            dout_part = block_of(dout, B, T, C, g);
  std::vector<double> y_whole(n), y_part(x_part.size()), dx_whole(n, 0.0),
      dx_part(x_part.size(), 0.0);
  Pass<double> pw = grid_pass(whole, B, T, nullptr), pp = grid_pass(part, B, T, &g);
  expect(pp.local_numel(C) == x_part.size(), name + ": a rank's block is a q^2-th");
  Expected want{{}, {}, static_cast<long long>(B / g.q) * T, g.q};
  traffic(want);
  whole_module->forward(pw, x.data(), y_whole.data());
  g.clear();
  part_module->forward(pp, x_part.data(), y_part.data());
  expect_traffic(g, want.forward, name + " forward");
  expect(relative_error(y_part, block_of(y_whole, B, T, C, g)) <= 1e-10, name + ": output");
  whole_module->backward(pw, dout.data(), dx_whole.data());
  g.clear();
  part_module->backward(pp, dout_part.data(), dx_part.data());
  expect_traffic(g, want.backward, name + " backward");
  expect(relative_error(dx_part, block_of(dx_whole, B, T, C, g)) <= 1e-10,
         name + ": input gradient");
  compare_grads(whole, part, name);
}

// A column-parallel product then a row-parallel one (as an MLP or attention makes them), in
// Hugging Face's (out, in) layout.
class LinearPair : public Module<double> {
 public:
  LinearPair(ParamTable& table, const std::string& prefix, int C, bool bias)
      : id_(table.add_module()),
        up_(table, prefix + ".up",
            {.in = C, .out = 2 * C, .layout = kOutIn, .bias = bias, .init = Init::normal}),
        down_(table, prefix + ".down",
              {.in = 2 * C, .out = C, .layout = kOutIn, .bias = bias, .init = Init::residual}) {}
  void forward(Pass<double>& pass, const double* in, double* out) override {
    Scratch<double> scratch(pass);
    double* h =
        pass.arena.alloc<double>(pass.product_tokens() * static_cast<size_t>(up_.out_local()));
    up_.forward(pass, in, h);
    down_.forward(pass, h, out, scratch);
    pass.record.save(id_, 0, in);
    pass.record.save(id_, 1, h);
  }
  void backward(Pass<double>& pass, const double* dout, double* dinp) override {
    Scratch<double> scratch(pass);
    double* dh =
        pass.arena.alloc_zero<double>(pass.product_tokens() * static_cast<size_t>(up_.out_local()));
    down_.backward(pass, dout, pass.record.get(id_, 1), dh, scratch);
    up_.backward(pass, dh, pass.record.get(id_, 0), dinp);
  }

 private:
  static constexpr auto kOutIn = parti::kernels::WeightLayout::out_in;
  using Init = parti::model::Init;
  int id_;
  parti::parallel::tensor::ColumnParallelLinear<double> up_;
  parti::parallel::tensor::RowParallelLinear<double> down_;
};

void check_layers(const Grid& g) {
  const int C = 8 * g.q, NH = 2 * g.q;  // heads of 4; a grid column holds 2 of them
  using namespace parti::model;
  for (bool bias : {false, true}) {
    check_module(
        bias ? "linear pair, biases" : "linear pair",
        [&](ParamTable& t, const std::string& p) {
          return std::make_unique<LinearPair>(t, p + ".pair", C, bias);
        },
        g, C,
        [&](Expected& e) {
          e.linear(C, 2 * C, bias);
          e.linear(2 * C, C, bias);
        });
  }
  check_module(
      "layernorm",
      [&](ParamTable& t, const std::string& p) {
        return std::make_unique<gpt2::LayerNorm<double>>(t, p + ".ln_1", C);
      },
      g, C, [&](Expected& e) { e.layernorm(C); });
  const auto gpt_attention = [&](Expected& e) {
    e.linear(C, 3 * C, true);
    e.linear(C, C, true);
  };
  const auto gpt_mlp = [&](Expected& e) {
    e.linear(C, 4 * C, true);
    e.linear(4 * C, C, true);
  };
  check_module(
      "gpt-2 attention",
      [&](ParamTable& t, const std::string& p) {
        return std::make_unique<gpt2::Attention<double>>(t, p + ".attn", C, NH);
      },
      g, C, gpt_attention);
  check_module(
      "gpt-2 mlp",
      [&](ParamTable& t, const std::string& p) {
        return std::make_unique<gpt2::Mlp<double>>(t, p + ".mlp", C);
      },
      g, C, gpt_mlp);
  check_module(
      "gpt-2 block",
      [&](ParamTable& t, const std::string& p) {
        return std::make_unique<gpt2::Block<double>>(t, p, C, NH);
      },
      g, C,
      [&](Expected& e) {
        e.layernorm(C);
        gpt_attention(e);
        e.layernorm(C);
        gpt_mlp(e);
      });
  ModelConfig cfg;
  cfg.family = "llama";
  cfg.dim = C;
  cfg.heads = NH;
  cfg.kv_heads = g.q;  // grouped-query: 2 query heads a key/value head, one of them a column
  cfg.ffn_dim = 3 * C;
  const int hd = C / NH;
  check_module(
      "llama block",
      [&](ParamTable& t, const std::string& p) {
        return std::make_unique<llama::Block<double>>(t, p, cfg);
      },
      g, C,
      [&](Expected& e) {
        e.rmsnorm(C);
        e.linear(C, C, false);
        e.linear(C, cfg.kv_heads * hd, false);
        e.linear(C, cfg.kv_heads * hd, false);
        e.linear(C, C, false);
        e.rmsnorm(C);
        e.linear(C, cfg.ffn_dim, false);
        e.linear(C, cfg.ffn_dim, false);
        e.linear(cfg.ffn_dim, C, false);
      });
}

// The whole model of a family (acceptance 1): the loss and every parameter gradient, with the
// vocabulary on the grid (grid_vocab.h) and cross-entropy reduced along grid rows.
void check_model(const Grid& g, parti::model::ModelConfig cfg, const std::string& name) {
  cfg.layers = 2;
  cfg.dim = 8 * g.q;
  cfg.heads = 2 * g.q;
  cfg.seq_len = 16;
  cfg.vocab = 300;  // padded to 384: 192 or 128 rows a grid column, the last ones partly padding
  const int B = 2 * g.q, T = 16;
  const size_t N = static_cast<size_t>(B * T);
  auto whole_model = parti::model::make_model<double>(cfg);
  auto part_model =
      parti::model::make_model<double>(cfg, TpRank{g.row * g.q + g.col, g.q * g.q, g.q});
  Run whole(whole_model->table()), part(part_model->table());
  std::vector<int32_t> tokens(N), targets(N);
  for (size_t i = 0; i < N; ++i) {
    tokens[i] = static_cast<int32_t>((i * 37 + 11) % 300);
    targets[i] = static_cast<int32_t>((i * 53 + 7) % 300);
  }
  for (Run* r : {&whole, &part}) {
    for (const ParamSpec& s : r->table.specs()) {  // padding rows stay zero
      for (size_t e = s.logical_numel(); e < s.numel; ++e) r->params[s.offset + e] = 0.0;
    }
    r->record->tokens = tokens.data();
    r->record->targets = targets.data();
  }
  Pass<double> pw = grid_pass(whole, B, T, nullptr), pp = grid_pass(part, B, T, &g);
  const double loss_whole = whole_model->forward(pw);
  const double loss_part = part_model->forward(pp);
  expect(std::abs(loss_whole - loss_part) <= 1e-10 * std::abs(loss_whole),
         name + ": loss " + std::to_string(loss_part) + " vs " + std::to_string(loss_whole));
  const double dloss = 1.0 / static_cast<double>(N);
  whole_model->backward(pw, dloss);
  part_model->backward(pp, dloss);
  compare_grads(whole, part, name);
  // No rank holds more than its q^2-th of a matrix.
  for (const ParamSpec& s : part.table.specs()) {
    if (s.shape.size() == 2) {
      expect(s.numel * static_cast<size_t>(g.q * g.q) ==
                     static_cast<size_t>(s.global_shape[0] == cfg.vocab ? cfg.padded_vocab()
                                                                        : s.global_shape[0]) *
                         static_cast<size_t>(s.global_shape[1]) ||
                 s.name == "wpe.weight",
             name + ": " + s.name + " is not a q^2-th of the matrix");
    }
  }
  if (g.row == 0 && g.col == 0) {
    std::printf("%s on a %d x %d grid: loss %.12f (one process %.12f)\n", name.c_str(), g.q, g.q,
                loss_part, loss_whole);
  }
}

}  // namespace

int main(int argc, char** argv) {
  parti::dist::MpiEnv env(&argc, &argv);
  parti::test::world_rank = env.rank();
  int q = 1;
  while ((q + 1) * (q + 1) <= env.size()) ++q;
  if (q * q != env.size() || q < 2) {
    std::fprintf(stderr, "run on a square number of ranks (4, 9), not %d\n", env.size());
    return 1;
  }
  auto world = env.world();
  const int row = env.rank() / q, col = env.rank() % q;
  auto row_group = env.splitter()(row, col, "tp_row");
  auto col_group = env.splitter()(col, row, "tp_col");
  CountingGroup all(*world), rows(*row_group), cols(*col_group);
  const Grid grid{q, row, col, &all, &rows, &cols};
  check_layers(grid);
  parti::model::ModelConfig gpt;
  check_model(grid, gpt, "gpt-2");
  parti::model::ModelConfig llama;
  llama.family = "llama";
  llama.kv_heads = q;
  check_model(grid, llama, "llama (tied)");
  llama.tie_embeddings = false;
  check_model(grid, llama, "llama");
  double total = failures;
  world->all_reduce(&total, 1, parti::dist::ReduceOp::sum);
  if (env.rank() == 0) {
    std::printf("block-partitioned layers on a %d x %d grid: %s\n", q, q,
                total == 0 ? "all match the plain layers" : "FAILURES");
  }
  return total == 0 ? 0 : 1;
}
