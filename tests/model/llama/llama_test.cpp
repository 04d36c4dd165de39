// Issue #17, acceptance 1: the Llama family's gradients in double against central differences
// (1e-6 relative): the whole model, tied and untied, at global positions that are not 0..T-1
// (context parallelism's), with grouped-query attention (2 query heads per key/value head), and
// the modules' names and shapes in Hugging Face's layout.
#include "parti/model/llama/llama.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/gradcheck.h"

namespace parti::model::llama {
namespace {

ModelConfig small_llama(bool tied) {
  ModelConfig cfg{2, 4, 16, 12, 11, "llama"};  // L, NH, C, T, V (padded to 128)
  cfg.kv_heads = 2;
  cfg.ffn_dim = 24;
  cfg.rope_theta = 500.0;  // turns fast enough to matter over a few positions
  cfg.norm_eps = 1e-5;
  cfg.tie_embeddings = tied;
  return cfg;
}

void check_gradients(bool tied, const int32_t* positions) {
  const ModelConfig cfg = small_llama(tied);
  Llama<double> llama(cfg);
  std::vector<double> params = test::random_vector(llama.table().total(), 5, 0.3);
  // Padding rows stay zero, as in training.
  for (const ParamSpec& spec : llama.table().specs()) {
    for (size_t i = spec.logical_numel(); i < spec.numel; ++i) params[spec.offset + i] = 0.0;
  }
  std::vector<double> grads(params.size(), 0.0);
  core::Arena arena;
  ActivationRecord<double> record(llama.table().modules());
  const int B = 2, T = 4;
  const int32_t tokens[B * T] = {1, 5, 10, 0, 3, 3, 7, 2};
  const int32_t targets[B * T] = {5, 10, 0, 4, 3, 7, 2, 9};
  record.tokens = tokens;
  record.targets = targets;
  const double dloss = 1.0 / (B * T);
  auto make_pass = [&](double* g) {
    Pass<double> pass{B, T, llama.table(), params.data(), g, arena, record};
    pass.positions = positions;
    return pass;
  };
  auto loss = [&] {
    Pass<double> pass = make_pass(nullptr);
    const double sum = llama.forward(pass);
    arena.reset();
    return sum * dloss;
  };
  Pass<double> pass = make_pass(grads.data());
  llama.forward(pass);
  llama.backward(pass, dloss);
  arena.reset();
  for (const ParamSpec& spec : llama.table().specs()) {
    auto numeric = test::numeric_gradient(params.data() + spec.offset, spec.numel, loss);
    EXPECT_LT(test::relative_error(grads.data() + spec.offset, numeric.data(), spec.numel),
              test::kGradTolerance)
        << spec.name << (tied ? " (tied)" : "");
    for (size_t i = spec.logical_numel(); i < spec.numel; ++i) {
      ASSERT_EQ(grads[spec.offset + i], 0.0) << "padding row of " << spec.name;
    }
  }
}

TEST(Llama, GradientsMatchCentralDifferences) {
  check_gradients(false, nullptr);
  check_gradients(true, nullptr);
}

TEST(Llama, GradientsMatchAtGlobalPositions) {
  const int32_t positions[4] = {2, 3, 8, 9};  // a cp rank's two chunks of a row
  check_gradients(false, positions);
}

TEST(Llama, HuggingFaceNamesAndShapes) {
  const ModelConfig cfg = small_llama(false);
  Llama<float> llama(cfg);
  const ParamTable& t = llama.table();
  const auto shape = [&](const std::string& name) {
    const int i = t.find(name);
    EXPECT_GE(i, 0) << name;
    return i >= 0 ? t.spec(i).global_shape : std::vector<int64_t>{};
  };
  EXPECT_EQ(shape("model.embed_tokens.weight"), (std::vector<int64_t>{11, 16}));
  EXPECT_EQ(shape("model.layers.1.self_attn.q_proj.weight"), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(shape("model.layers.1.self_attn.k_proj.weight"), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(shape("model.layers.1.self_attn.v_proj.weight"), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(shape("model.layers.1.self_attn.o_proj.weight"), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(shape("model.layers.0.mlp.gate_proj.weight"), (std::vector<int64_t>{24, 16}));
  EXPECT_EQ(shape("model.layers.0.mlp.up_proj.weight"), (std::vector<int64_t>{24, 16}));
  EXPECT_EQ(shape("model.layers.0.mlp.down_proj.weight"), (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(shape("model.layers.0.input_layernorm.weight"), (std::vector<int64_t>{16}));
  EXPECT_EQ(shape("model.layers.0.post_attention_layernorm.weight"), (std::vector<int64_t>{16}));
  EXPECT_EQ(shape("model.norm.weight"), (std::vector<int64_t>{16}));
  EXPECT_EQ(shape("lm_head.weight"), (std::vector<int64_t>{11, 16}));
  EXPECT_EQ(t.find("model.layers.0.self_attn.q_proj.bias"), -1);  // no biases
  long long logical = 0;
  for (const ParamSpec& s : t.specs()) logical += static_cast<long long>(s.logical_numel());
  EXPECT_EQ(parameter_count(cfg), logical);
}

}  // namespace
}  // namespace parti::model::llama
