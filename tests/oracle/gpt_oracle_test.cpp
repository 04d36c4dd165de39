// PyTorch oracle (issue #2, acceptance 2; issue #17, acceptance 2 for the Llama family). For each
// family, Parti writes a 2-layer model's initial weights (our own initialisation), the batches its
// sampler draws, its logits, loss and every parameter gradient for the first batch, its loss per
// step and its parameters after 5 trainer steps (gradient accumulation over 2 micro-batches,
// clipping, warmup + cosine LR, AdamW with decay on matrices only). gpt_oracle.py rebuilds the same
// model in plain PyTorch from those weights (no library model: GPT-2, or Llama with RMSNorm,
// Hugging Face's rotary convention, repeat_kv grouped-query attention and SwiGLU written out),
// repeats everything with torch.optim.AdamW and clip_grad_norm_, and exits non-zero when any
// relative error (norm of difference over norm) exceeds 1e-5.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "parti/data/sampler.h"
#include "parti/dist/mesh.h"
#include "parti/dist/process_group.h"
#include "parti/io/safetensors.h"
#include "parti/model/registry.h"
#include "parti/train/trainer.h"
#include "support/scratch.h"

namespace parti {
namespace {

namespace fs = std::filesystem;

void write_ints(const std::string& path, const std::vector<int32_t>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(int32_t)));
}

std::vector<io::TensorRef> logical_tensors(const model::ParamTable& table, const float* buffer,
                                           const std::string& prefix) {
  std::vector<io::TensorRef> out;
  for (const model::ParamSpec& s : table.specs()) {
    std::vector<int64_t> shape = s.shape;
    shape[0] = s.logical_rows;
    out.push_back({prefix + s.name, shape, buffer + s.offset});
  }
  return out;
}

model::ModelConfig oracle_model(const std::string& family, int V) {
  model::ModelConfig m{2, 4, 64, 32, V, family};
  if (family == "llama") {
    m.kv_heads = 2;  // two query heads per key/value head
    m.ffn_dim = 96;
    m.rope_theta = 500000.0;
    m.tie_embeddings = false;
  }
  return m;
}

class Oracle : public ::testing::TestWithParam<std::string> {};

TEST_P(Oracle, LogitsLossGradientsAndFiveStepsMatchPyTorch) {
  const fs::path dir = test::scratch_dir() / GetParam();
  fs::remove_all(dir);
  fs::create_directories(dir / "data");
  const int V = 1000;
  data::TokenFile tokens{V, V - 1, {}};
  std::mt19937 gen(3);
  for (int i = 0; i < 20000; ++i) tokens.tokens.push_back(static_cast<uint16_t>(gen() % V));
  data::write_token_file((dir / "data/train.bin").string(), tokens);
  data::write_token_file((dir / "data/val.bin").string(), tokens);

  train::TrainConfig cfg;
  cfg.model = oracle_model(GetParam(), V);
  cfg.data.dir = (dir / "data").string();
  cfg.data.batch.global_batch = 4;
  cfg.layout.micro_batch = 2;
  cfg.data.seed = 42;
  cfg.steps = 20;  // the schedule spans 20 steps; we run 5 (3 of warmup, 2 of cosine)
  cfg.optim.lr = 1e-3;
  cfg.optim.min_lr = 1e-4;
  cfg.optim.warmup = 3;
  cfg.optim.grad_clip = 0.5;  // small enough to clip
  cfg.optim.adamw.weight_decay = 0.1;
  const dist::Mesh single(dist::MeshShape{}, 0, 1, dist::Mesh::self_split());
  train::Trainer trainer(cfg, single);
  const model::ParamTable& table = trainer.model().table();
  io::write_safetensors((dir / "init.safetensors").string(),
                        logical_tensors(table, trainer.params().data(), ""), {});

  // The batches the trainer will draw, step by step (global batch rows).
  const int T = cfg.model.seq_len, G = cfg.data.batch.global_batch;
  data::Sampler sampler(tokens, T, G, cfg.data.seed);
  std::vector<int32_t> inputs(static_cast<size_t>(5 * G * T)), targets(inputs.size());
  for (int step = 0; step < 5; ++step) {
    const size_t at = static_cast<size_t>(step * G * T);
    sampler.fill(step, 0, G, inputs.data() + at, targets.data() + at);
  }
  write_ints((dir / "inputs.bin").string(), inputs);
  write_ints((dir / "targets.bin").string(), targets);

  // Logits, loss and gradients of the whole first global batch, at the initial weights.
  const auto gpt = model::make_model<float>(cfg.model);
  std::vector<float> params = trainer.params(), grads(table.total(), 0.0f);
  core::Arena arena;
  model::ActivationRecord<float> record(table.modules());
  record.tokens = inputs.data();
  record.targets = targets.data();
  model::Pass<float> pass{G, T, table, params.data(), grads.data(), arena, record};
  const float* logits_padded = gpt->logits(pass);
  std::vector<float> logits(static_cast<size_t>(G * T * V));
  for (size_t r = 0; r < static_cast<size_t>(G * T); ++r) {
    std::copy(logits_padded + r * static_cast<size_t>(cfg.model.padded_vocab()),
              logits_padded + r * static_cast<size_t>(cfg.model.padded_vocab()) + V,
              logits.begin() + static_cast<std::ptrdiff_t>(r * V));
  }
  arena.reset();
  const float loss = static_cast<float>(gpt->forward(pass) / (G * T));
  gpt->backward(pass, 1.0f / static_cast<float>(G * T));

  std::vector<float> step_losses;
  for (int step = 0; step < 5; ++step) {
    step_losses.push_back(static_cast<float>(trainer.step().loss));
  }
  std::vector<io::TensorRef> ours = logical_tensors(table, grads.data(), "grad.");
  for (const io::TensorRef& t : logical_tensors(table, trainer.params().data(), "final.")) {
    ours.push_back(t);
  }
  ours.push_back({"logits", {G * T, V}, logits.data()});
  ours.push_back({"loss", {1}, &loss});
  ours.push_back({"step_losses", {5}, step_losses.data()});
  io::write_safetensors((dir / "ours.safetensors").string(), ours, {});

  std::ofstream(dir / "config.json") << train::to_json(cfg).dump(2);
  const std::string command = std::string("/usr/bin/python3 ") + PARTI_SOURCE_DIR +
                              "/tests/oracle/gpt_oracle.py " + dir.string();
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

INSTANTIATE_TEST_SUITE_P(Families, Oracle, ::testing::Values("gpt2", "llama"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace parti
