// Every module's backward against central finite differences of its forward, in double:
// input gradient and every parameter gradient, on awkward sizes (acceptance 1 of issue #2).
// Module loss: sum(out * R) for a fixed random R (dout = R). Gpt loss: mean token loss.
#include <gtest/gtest.h>

#include <memory>

#include "parti/model/gpt2/attention.h"
#include "parti/model/gpt2/block.h"
#include "parti/model/gpt2/gpt2.h"
#include "parti/model/gpt2/layernorm.h"
#include "parti/model/gpt2/mlp.h"
#include "support/gradcheck.h"

namespace parti::model::gpt2 {
namespace {

struct Harness {
  ParamTable table;
  std::vector<double> params, grads;
  core::Arena arena;
  std::unique_ptr<ActivationRecord<double>> record;

  void finish(unsigned seed) {
    params = test::random_vector(table.total(), seed, 0.5);
    grads.assign(table.total(), 0.0);
    record = std::make_unique<ActivationRecord<double>>(table.modules());
  }
  Pass<double> pass(int B, int T) {
    return {B, T, table, params.data(), grads.data(), arena, *record};
  }
};

// Checks dinp and every parameter gradient of a (B, T, C) -> (B, T, C) module.
void check_module(Harness& h, Module<double>& module, int B, int T, int C, unsigned seed) {
  const size_t n = static_cast<size_t>(B * T * C);
  auto inp = test::random_vector(n, seed);
  auto R = test::random_vector(n, seed + 1);
  std::vector<double> out(n);
  auto loss = [&] {
    auto pass = h.pass(B, T);
    module.forward(pass, inp.data(), out.data());
    h.arena.reset();
    return test::dot(out, R);
  };
  auto pass = h.pass(B, T);
  module.forward(pass, inp.data(), out.data());
  std::vector<double> dinp(n, 0.0);
  module.backward(pass, R.data(), dinp.data());
  h.arena.reset();
  EXPECT_LT(test::relative_error(dinp, test::numeric_gradient(inp.data(), n, loss)),
            test::kGradTolerance)
      << "input gradient";
  for (const ParamSpec& spec : h.table.specs()) {
    auto numeric = test::numeric_gradient(h.params.data() + spec.offset, spec.numel, loss);
    EXPECT_LT(test::relative_error(h.grads.data() + spec.offset, numeric.data(), spec.numel),
              test::kGradTolerance)
        << spec.name;
  }
}

TEST(Modules, LayerNorm) {
  Harness h;
  LayerNorm<double> ln(h.table, "ln", 7);
  h.finish(1);
  check_module(h, ln, 2, 3, 7, 10);
}

TEST(Modules, Attention) {
  Harness h;
  Attention<double> attn(h.table, "attn", 6, 3);
  h.finish(2);
  check_module(h, attn, 2, 5, 6, 20);
}

TEST(Modules, Mlp) {
  Harness h;
  Mlp<double> mlp(h.table, "mlp", 5);
  h.finish(3);
  check_module(h, mlp, 1, 3, 5, 30);
}

TEST(Modules, Block) {
  Harness h;
  Block<double> block(h.table, "h.0", 6, 2);
  h.finish(4);
  check_module(h, block, 2, 3, 6, 40);
}

TEST(Modules, GptLossGradient) {
  const ModelConfig cfg{2, 2, 6, 5, 11};  // L, NH, C, T, V (padded to 128)
  Gpt2<double> gpt(cfg);
  std::vector<double> params = test::random_vector(gpt.table().total(), 5, 0.3);
  // Padding rows stay zero, as in training.
  const ParamSpec& wte = gpt.table().spec(gpt.table().find("wte.weight"));
  for (size_t i = wte.logical_numel(); i < wte.numel; ++i) params[wte.offset + i] = 0.0;
  std::vector<double> grads(params.size(), 0.0);
  core::Arena arena;
  ActivationRecord<double> record(gpt.table().modules());
  const int B = 2, T = 4;
  const int32_t tokens[B * T] = {1, 5, 10, 0, 3, 3, 7, 2};
  const int32_t targets[B * T] = {5, 10, 0, 4, 3, 7, 2, 9};
  record.tokens = tokens;
  record.targets = targets;
  const double dloss = 1.0 / (B * T);
  auto loss = [&] {
    Pass<double> pass{B, T, gpt.table(), params.data(), nullptr, arena, record};
    double sum = gpt.forward(pass);
    arena.reset();
    return sum * dloss;
  };
  Pass<double> pass{B, T, gpt.table(), params.data(), grads.data(), arena, record};
  gpt.forward(pass);
  gpt.backward(pass, dloss);
  arena.reset();
  for (const ParamSpec& spec : gpt.table().specs()) {
    auto numeric = test::numeric_gradient(params.data() + spec.offset, spec.numel, loss);
    EXPECT_LT(test::relative_error(grads.data() + spec.offset, numeric.data(), spec.numel),
              test::kGradTolerance)
        << spec.name;
  }
  for (size_t i = wte.logical_numel(); i < wte.numel; ++i) {
    ASSERT_EQ(grads[wte.offset + i], 0.0) << "padding row of wte got a gradient";
  }
}

}  // namespace
}  // namespace parti::model::gpt2
