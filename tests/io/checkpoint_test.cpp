#include "parti/io/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "parti/core/check.h"
#include "parti/model/registry.h"
#include "support/scratch.h"

namespace parti::io {
namespace {

namespace fs = std::filesystem;

TEST(Checkpoint, SavesLogicalTensorsAndLoadsThemBack) {
  const std::string dir = test::scratch("ckpt");
  fs::remove_all(dir);
  const auto gpt_model = model::make_model<float>(model::ModelConfig{1, 2, 8, 4, 100});
  const model::Model<float>& gpt = *gpt_model;
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
  const auto other_model = model::make_model<float>(model::ModelConfig{1, 2, 16, 4, 100});
  const model::Model<float>& other = *other_model;
  std::vector<float> q(other.table().total());
  EXPECT_THROW(load_checkpoint(step, {other.table(), q.data(), nullptr, nullptr}), CheckpointError);
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Slices written by several writers (here: in scrambled order, cutting through tensors, padding
// rows and alignment gaps) make the very bytes one writer makes; any slices load back.
TEST(Checkpoint, SlicesWrittenApartEqualTheWholeFile) {
  const std::string whole = test::scratch("whole");
  const std::string sliced = test::scratch("sliced");
  fs::remove_all(whole);
  fs::remove_all(sliced);
  const auto gpt_model = model::make_model<float>(model::ModelConfig{2, 2, 8, 4, 100});
  const model::Model<float>& gpt = *gpt_model;
  const model::ParamTable& t = gpt.table();
  std::vector<float> p(t.total()), m(t.total()), v(t.total());
  t.init_values<float>(p.data(), 5, 2);
  for (size_t i = 0; i < t.total(); ++i) {
    m[i] = 0.001f * static_cast<float>(i % 101);
    v[i] = 0.002f * static_cast<float>(i % 37);
  }
  save_checkpoint(whole, 3, {t, p.data(), m.data(), v.data()}, {{"k", 2}});
  const size_t cut1 = t.total() / 3 + 5, cut2 = 2 * t.total() / 3 - 7;
  auto slice = [&](size_t a, size_t b) {
    return CheckpointSlice{a, b - a, p.data() + a, m.data() + a, v.data() + a};
  };
  begin_checkpoint(sliced, 3, t, true);
  write_checkpoint_slices(sliced, 3, t, {slice(cut2, t.total())});
  write_checkpoint_slices(sliced, 3, t, {slice(0, cut1)});
  write_checkpoint_slices(sliced, 3, t, {slice(cut1, cut2)});
  const std::string step = finish_checkpoint(sliced, 3, {{"k", 2}});
  for (const char* file : {"/model.safetensors", "/optim.safetensors", "/state.json"}) {
    EXPECT_EQ(bytes_of(step + file), bytes_of(whole + "/step_00000003" + file)) << file;
  }
  // A slice across the middle, moments only for another.
  std::vector<float> part(cut2 - cut1, 9.0f), mp(cut2 - cut1), vp(cut2 - cut1);
  std::vector<float> m_only(cut1), v_only(cut1);
  load_checkpoint_slices(step, t,
                         {{cut1, cut2 - cut1, part.data(), mp.data(), vp.data()},
                          {0, cut1, nullptr, m_only.data(), v_only.data()}});
  // Elements outside every parameter's logical data (alignment gaps, wte's padding rows) are
  // not in the files and load as 0.
  auto expected = [&](const std::vector<float>& full, size_t i) {
    for (const model::ParamSpec& spec : t.specs()) {
      if (i >= spec.offset && i < spec.offset + spec.logical_numel()) return full[i];
    }
    return 0.0f;
  };
  for (size_t i = 0; i < part.size(); ++i) {
    ASSERT_EQ(part[i], expected(p, cut1 + i)) << i;
    ASSERT_EQ(mp[i], expected(m, cut1 + i)) << i;
    ASSERT_EQ(vp[i], expected(v, cut1 + i)) << i;
  }
  for (size_t i = 0; i < cut1; ++i) {
    ASSERT_EQ(m_only[i], expected(m, i)) << i;
    ASSERT_EQ(v_only[i], expected(v, i)) << i;
  }
}

}  // namespace
}  // namespace parti::io
