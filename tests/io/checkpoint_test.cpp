#include "parti/io/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "parti/core/check.h"
#include "parti/model/gpt.h"

namespace parti::io {
namespace {

namespace fs = std::filesystem;

TEST(Checkpoint, SavesLogicalTensorsAndLoadsThemBack) {
  const std::string dir = (fs::temp_directory_path() / "parti_ckpt_test").string();
  fs::remove_all(dir);
  model::Gpt<float> gpt(model::GptConfig{1, 2, 8, 4, 100});
  const model::ParamTable& t = gpt.table();
  std::vector<float> p(t.total()), m(t.total(), 0.25f), v(t.total(), 0.5f);
  t.init_values<float>(p.data(), 3, 1);
  const std::string step = save_checkpoint(dir, 7, {t, p.data(), m.data(), v.data()}, {{"x", 1}});
  EXPECT_EQ(step, dir + "/step_00000007");
  EXPECT_EQ(resolve_checkpoint(dir), step);
  EXPECT_FALSE(fs::exists(step + ".tmp"));
  EXPECT_EQ(read_checkpoint_state(step)["step"], 7);
  std::vector<float> p2(t.total(), 9.0f), m2(t.total()), v2(t.total());
  load_checkpoint(step, {t, p2.data(), m2.data(), v2.data()});
  for (const model::ParamSpec& s : t.specs()) {
    for (size_t i = 0; i < s.logical_numel(); ++i) {
      ASSERT_EQ(p2[s.offset + i], p[s.offset + i]) << s.name;
      ASSERT_EQ(m2[s.offset + i], 0.25f);
    }
  }
  // A model of another shape is refused, naming the tensor.
  model::Gpt<float> other(model::GptConfig{1, 2, 16, 4, 100});
  std::vector<float> q(other.table().total());
  EXPECT_THROW(load_checkpoint(step, {other.table(), q.data(), nullptr, nullptr}), CheckpointError);
}

}  // namespace
}  // namespace parti::io
