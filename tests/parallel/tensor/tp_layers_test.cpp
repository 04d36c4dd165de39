// Issue #4: each tensor-parallel layer alone against the plain layer, with and without sequence
// parallelism (acceptance 1), its communication against Megatron's count (acceptance 2), and no
// rank holding a whole vocab x dim matrix or tokens x vocab logits (acceptance 3). Run under mpirun
// by ctest with tp = the world size; in double, so the only differences are summation orders (bound
// 1e-10 relative). Every rank builds the plain layer (tp 1) and its part (tp rank r of P) from the
// same seed, runs forward and backward of the same input and output gradient, and compares the
// output, the input gradient and every parameter gradient (its part's elements against the whole's,
// by global index). Exit status 1 on any mismatch.
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parti/core/arena.h"
#include "parti/core/rng.h"
#include "parti/dist/counting_group.h"
#include "parti/dist/mpi_env.h"
#include "parti/model/gpt2/attention.h"
#include "parti/model/gpt2/block.h"
#include "parti/model/gpt2/gpt2.h"
#include "parti/model/gpt2/mlp.h"
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
using parti::parallel::tensor::add_input_grad;
using parti::parallel::tensor::input;
using parti::parallel::tensor::input_grad;
using parti::parallel::tensor::Scratch;

using parti::test::compare_grads;
using parti::test::expect;
using parti::test::failures;
using parti::test::random_vector;
using parti::test::relative_error;
using parti::test::Run;

// The 1D context over `tp` (null: none), sp: sequence parallelism over it.
Pass<double> tp_pass(Run& run, int B, int T, parti::dist::ProcessGroup* tp, bool sp = false) {
  if (tp == nullptr) {
    return run.pass(B, T, nullptr);
  }
  run.context = parti::parallel::tensor::make_tensor_parallel(*tp, sp);
  return run.pass(B, T, &run.context);
}

// A sublayer or block: (B, T, C) in and out.
using MakeModule =
    std::function<std::unique_ptr<Module<double>>(ParamTable& table, const std::string& prefix)>;

// One layer (`sublayers` attention or MLP parts, `norms` LayerNorms) against the plain one.
// Tensor parallel: Megatron's count, per sublayer one all-reduce of B T C in forward and one in
// backward, and nothing else. Sequence parallel: the layer takes and gives this rank's chunk of
// the tokens (and so its input gradient) and communicates all-gathers and reduce-scatters of
// those chunks: per sublayer, forward one all-gather of the input and one reduce-scatter of the
// output (an all-reduce's bytes), backward one all-gather of the output gradient, one of the
// input again (for the weight gradient, instead of keeping it whole) and one reduce-scatter of
// the input gradient; plus, per LayerNorm, one all-reduce of its 2C weight gradients.
void check_module(const std::string& name, const MakeModule& make, CountingGroup& tp, int C,
                  bool sp, int sublayers, int norms) {
  const std::string what = name + (sp ? " (sp)" : "");
  const int B = 2, T = 8;
  const size_t n = static_cast<size_t>(B * T * C);
  const size_t chunk = sp ? n / static_cast<size_t>(tp.size()) : n;  // this rank's tokens
  const size_t first = sp ? chunk * static_cast<size_t>(tp.rank()) : 0;
  ParamTable whole_table, part_table({tp.rank(), tp.size()});
  auto whole_module = make(whole_table, "h.0");
  auto part_module = make(part_table, "h.0");
  Run whole(whole_table), part(part_table);
  whole.record = std::make_unique<ActivationRecord<double>>(whole_table.modules());
  part.record = std::make_unique<ActivationRecord<double>>(part_table.modules());
  const std::vector<double> x = random_vector(n, 1), dout = random_vector(n, 2);
  std::vector<double> y_whole(n), y_part(chunk), dx_whole(n, 0.0), dx_part(chunk, 0.0);
  Pass<double> pw = tp_pass(whole, B, T, nullptr), pp = tp_pass(part, B, T, &tp, sp);
  const auto k = static_cast<long long>(sublayers);
  auto expect_counts = [&](const char* phase, long long gathers, long long scatters,
                           long long reduces, long long reduced) {
    const CountingGroup::Count ag = tp.count("all_gather"), rs = tp.count("reduce_scatter"),
                               ar = tp.count("all_reduce");
    const auto c = static_cast<long long>(chunk);
    const size_t kinds =
        (gathers > 0 ? 1u : 0u) + (scatters > 0 ? 1u : 0u) + (reduces > 0 ? 1u : 0u);
    expect(ag.calls == gathers && ag.elements == gathers * c && rs.calls == scatters &&
               rs.elements == scatters * c && ar.calls == reduces && ar.elements == reduced &&
               tp.counts().size() == kinds,
           what + ": " + phase + " calls: all_gather " + std::to_string(ag.calls) +
               ", reduce_scatter " + std::to_string(rs.calls) + ", all_reduce " +
               std::to_string(ar.calls) + " of " + std::to_string(ar.elements));
  };
  whole_module->forward(pw, x.data(), y_whole.data());
  tp.clear();
  part_module->forward(pp, x.data() + first, y_part.data());
  if (sp) {
    expect_counts("forward", k, k, 0, 0);
  } else {
    expect_counts("forward", 0, 0, k, k * static_cast<long long>(n));
  }
  expect(relative_error(y_part.data(), y_whole.data() + first, chunk) <= 1e-10, what + ": output");
  whole_module->backward(pw, dout.data(), dx_whole.data());
  tp.clear();
  part_module->backward(pp, dout.data() + first, dx_part.data());
  if (sp) {
    expect_counts("backward", 2 * k, k, norms, norms * 2LL * C);
  } else {
    expect_counts("backward", 0, 0, k, k * static_cast<long long>(n));
  }
  expect(relative_error(dx_part.data(), dx_whole.data() + first, chunk) <= 1e-10,
         what + ": input gradient");
  compare_grads(whole, part, what);
}

// The linear layers alone (parallel/tensor/linear.h), in Hugging Face's layout ((out, in)
// weights, as a Llama family stores them): a column-parallel product then a row-parallel one,
// the composition an MLP or attention makes of them, with or without biases.
class LinearPair : public Module<double> {
 public:
  LinearPair(ParamTable& table, const std::string& prefix, int C, bool bias)
      : C_(C),
        id_(table.add_module()),
        up_(table, prefix + ".up",
            {.in = C, .out = 2 * C, .layout = kOutIn, .bias = bias, .init = Init::normal}),
        down_(table, prefix + ".down",
              {.in = 2 * C, .out = C, .layout = kOutIn, .bias = bias, .init = Init::residual}) {}
  void forward(Pass<double>& pass, const double* in, double* out) override {
    Scratch<double> scratch(pass);
    const double* x = input(pass, in, C_, scratch);
    double* h = pass.arena.alloc<double>(pass.tokens() * static_cast<size_t>(up_.out_local()));
    up_.forward(pass, x, h);
    down_.forward(pass, h, out, scratch);
    pass.record.save(id_, 0, in);
    pass.record.save(id_, 1, h);
  }
  void backward(Pass<double>& pass, const double* dout, double* dinp) override {
    Scratch<double> scratch(pass);
    double* dh =
        pass.arena.alloc_zero<double>(pass.tokens() * static_cast<size_t>(up_.out_local()));
    down_.backward(pass, dout, pass.record.get(id_, 1), dh, scratch);
    const double* x = input(pass, pass.record.get(id_, 0), C_, scratch);
    double* dx = input_grad(pass, dinp, C_, scratch);
    up_.backward(pass, dh, x, dx);
    add_input_grad(pass, dx, dinp, C_, scratch);
  }

 private:
  static constexpr auto kOutIn = parti::kernels::WeightLayout::out_in;
  using Init = parti::model::Init;
  int C_, id_;
  parti::parallel::tensor::ColumnParallelLinear<double> up_;
  parti::parallel::tensor::RowParallelLinear<double> down_;
};

// The whole model: loss, every gradient, the communication of a step, and the sizes it holds.
void check_gpt(CountingGroup& tp, bool sp) {
  parti::model::ModelConfig cfg;
  cfg.layers = 2;
  cfg.heads = 4;
  cfg.dim = 32;
  cfg.seq_len = 16;
  cfg.vocab = 300;  // padded to 384: 96 rows per rank at tp 4, the last ones' partly padding
  const int B = 2, T = 16;
  const size_t N = static_cast<size_t>(B * T), C = 32;
  parti::model::gpt2::Gpt2<double> whole_gpt(cfg), part_gpt(cfg, TpRank{tp.rank(), tp.size()});
  Run whole(whole_gpt.table()), part(part_gpt.table());
  for (Run* r : {&whole, &part}) {
    for (const ParamSpec& s : r->table.specs()) {  // padding rows stay zero
      for (size_t e = s.logical_numel(); e < s.numel; ++e) r->params[s.offset + e] = 0.0;
    }
    r->record = std::make_unique<ActivationRecord<double>>(r->table.modules());
  }
  std::vector<int32_t> tokens(N), targets(N);
  for (size_t i = 0; i < N; ++i) {
    tokens[i] = static_cast<int32_t>((i * 37 + 11) % 300);
    targets[i] = static_cast<int32_t>((i * 53 + 7) % 300);
  }
  for (Run* r : {&whole, &part}) {
    r->record->tokens = tokens.data();
    r->record->targets = targets.data();
  }
  Pass<double> pw = tp_pass(whole, B, T, nullptr), pp = tp_pass(part, B, T, &tp, sp);
  const double loss_whole = whole_gpt.forward(pw);
  tp.clear();
  const double loss_part = part_gpt.forward(pp);
  expect(std::abs(loss_whole - loss_part) <= 1e-10 * std::abs(loss_whole),
         "gpt: loss " + std::to_string(loss_part) + " vs " + std::to_string(loss_whole));
  // Forward: per layer 2 all-reduces of N x C; the lookup one more; the cross-entropy one max of
  // N and one sum of 2N.
  // Under sequence parallelism the lookup's all-reduce is a reduce-scatter, each layer's 2 are
  // all-gathers and reduce-scatters, and the output projection all-gathers the final norm's
  // output.
  const auto L = static_cast<long long>(cfg.layers);
  const auto NC = static_cast<long long>(N * C);
  const long long chunk = NC / tp.size();
  const CountingGroup::Count fwd = tp.count("all_reduce");
  if (!sp) {
    expect(
        fwd.calls == 2 * L + 3 && fwd.elements == (2 * L + 1) * NC + 3 * static_cast<long long>(N),
        "gpt: forward all-reduces " + std::to_string(fwd.calls) + " of " +
            std::to_string(fwd.elements));
  } else {
    expect(fwd.calls == 2 && fwd.elements == 3 * static_cast<long long>(N) &&
               tp.count("all_gather").elements == (2 * L + 1) * chunk &&
               tp.count("reduce_scatter").elements == (2 * L + 1) * chunk,
           "gpt (sp): forward communication");
  }
  const double dloss = 1.0 / static_cast<double>(N);
  whole_gpt.backward(pw, dloss);
  tp.clear();
  part_gpt.backward(pp, dloss);
  // Backward: per layer 2 of N x C, and the output projection's input gradient.
  const CountingGroup::Count bwd = tp.count("all_reduce");
  if (!sp) {
    expect(bwd.calls == 2 * L + 1 && bwd.elements == (2 * L + 1) * NC,
           "gpt: backward all-reduces " + std::to_string(bwd.calls) + " of " +
               std::to_string(bwd.elements));
  } else {
    // Per layer 4 all-gathers and 2 reduce-scatters, the norms' weight gradients (2 per layer
    // and the final one), dxf's reduce-scatter and dx0's all-gather for the embeddings.
    expect(bwd.calls == 2 * L + 1 && bwd.elements == (2 * L + 1) * 2 * static_cast<long long>(C) &&
               tp.count("all_gather").elements == (4 * L + 1) * chunk &&
               tp.count("reduce_scatter").elements == (2 * L + 1) * chunk,
           "gpt (sp): backward communication");
  }
  compare_grads(whole, part, "gpt");
  // No whole vocab x dim matrix nor tokens x vocab logits on any rank at tp > 1.
  const int Vp = cfg.padded_vocab();
  expect(part_gpt.vocab_rows() * tp.size() == Vp, "gpt: vocabulary rows per rank");
  for (const ParamSpec& s : part.table.specs()) {
    expect(s.numel < static_cast<size_t>(Vp) * C, "gpt: " + s.name + " holds the whole vocabulary");
  }
  const size_t logits_bytes = N * static_cast<size_t>(part_gpt.vocab_rows()) * sizeof(double);
  expect(logits_bytes * static_cast<size_t>(tp.size()) == N * static_cast<size_t>(Vp) * 8,
         "gpt: logits are this rank's columns");
  if (tp.rank() == 0) {
    std::printf(
        "gpt tp %d%s: loss %.12f (one process %.12f); wte %lld x %lld here; logits %zu x %d\n",
        tp.size(), sp ? " sp" : "", loss_part, loss_whole,
        static_cast<long long>(part.table.spec(part.table.find("wte.weight")).shape[0]),
        static_cast<long long>(C), N, part_gpt.vocab_rows());
  }
}

}  // namespace

int main(int argc, char** argv) {
  parti::dist::MpiEnv env(&argc, &argv);
  parti::test::world_rank = env.rank();
  auto world = env.world();
  CountingGroup tp(*world);
  const int C = 32, NH = 4;
  using parti::model::gpt2::Attention;
  using parti::model::gpt2::Block;
  using parti::model::gpt2::Mlp;
  const MakeModule attention = [&](ParamTable& t, const std::string& p) {
    return std::make_unique<Attention<double>>(t, p + ".attn", C, NH);
  };
  const MakeModule mlp = [&](ParamTable& t, const std::string& p) {
    return std::make_unique<Mlp<double>>(t, p + ".mlp", C);
  };
  const MakeModule block = [&](ParamTable& t, const std::string& p) {
    return std::make_unique<Block<double>>(t, p, C, NH);
  };
  for (bool sp : {false, true}) {
    for (bool bias : {false, true}) {
      check_module(
          bias ? "linear pair (out, in), biases" : "linear pair (out, in)",
          [&](ParamTable& t, const std::string& p) {
            return std::make_unique<LinearPair>(t, p + ".pair", C, bias);
          },
          tp, C, sp, 1, 0);
    }
    check_module("attention", attention, tp, C, sp, 1, 0);
    check_module("mlp", mlp, tp, C, sp, 1, 0);
    check_module("block", block, tp, C, sp, 2, 2);  // Megatron: 2 per layer each way
  }
  check_gpt(tp, false);
  check_gpt(tp, true);
  double total = failures;
  world->all_reduce(&total, 1, parti::dist::ReduceOp::sum);
  if (env.rank() == 0) {
    std::printf("tensor-parallel layers at tp %d: %s\n", env.size(),
                total == 0 ? "all match the plain layers" : "FAILURES");
  }
  return total == 0 ? 0 : 1;
}
