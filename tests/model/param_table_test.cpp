#include "parti/model/param_table.h"

#include <gtest/gtest.h>

#include <cmath>

#include "parti/model/gpt2/gpt2.h"

namespace parti::model {
namespace {

TEST(ParamTable, Gpt2NamesAndShapesMatchHuggingFace) {
  gpt2::Gpt2<float> gpt(preset("gpt2"));
  const ParamTable& t = gpt.table();
  auto shape = [&](const char* name) { return t.spec(t.find(name)).shape; };
  EXPECT_EQ(shape("wte.weight"), (std::vector<int64_t>{50304, 768}));
  EXPECT_EQ(t.spec(t.find("wte.weight")).logical_rows, 50257);
  EXPECT_EQ(shape("wpe.weight"), (std::vector<int64_t>{1024, 768}));
  EXPECT_EQ(shape("h.0.attn.c_attn.weight"), (std::vector<int64_t>{768, 2304}));
  EXPECT_EQ(shape("h.11.mlp.c_proj.weight"), (std::vector<int64_t>{3072, 768}));
  EXPECT_EQ(shape("ln_f.bias"), (std::vector<int64_t>{768}));
  size_t logical = 0;
  for (const ParamSpec& s : t.specs()) logical += s.logical_numel();
  EXPECT_EQ(logical, 124439808u);  // GPT-2 small's parameter count
  EXPECT_EQ(static_cast<long long>(logical), parameter_count(preset("gpt2")));
  EXPECT_EQ(t.specs().size(), 2u + 12u * 12u + 2u);
}

TEST(ParamTable, InitIsAFunctionOfSeedNameAndIndex) {
  // Two tables declaring the same parameter in a different order give it the same values.
  ParamTable a, b;
  a.add("x", {3, 4}, Init::normal, true);
  a.add("y", {5}, Init::normal, true);
  b.add("y", {5}, Init::normal, true);
  b.add("x", {3, 4}, Init::normal, true);
  std::vector<float> va(a.total()), vb(b.total());
  a.init_values<float>(va.data(), 7, 2);
  b.init_values<float>(vb.data(), 7, 2);
  for (const char* name : {"x", "y"}) {
    const ParamSpec& sa = a.spec(a.find(name));
    const ParamSpec& sb = b.spec(b.find(name));
    for (size_t i = 0; i < sa.numel; ++i) {
      EXPECT_EQ(va[sa.offset + i], vb[sb.offset + i]);
    }
  }
  std::vector<float> other(a.total());
  a.init_values<float>(other.data(), 8, 2);
  EXPECT_NE(va[0], other[0]);
}

TEST(ParamTable, InitStatistics) {
  gpt2::Gpt2<float> gpt(ModelConfig{8, 4, 128, 64, 1000});
  std::vector<float> p(gpt.table().total());
  gpt.table().init_values<float>(p.data(), 1, 8);
  auto stats = [&](const char* name) {
    const ParamSpec& s = gpt.table().spec(gpt.table().find(name));
    double sum = 0, sq = 0;
    for (size_t i = 0; i < s.logical_numel(); ++i) {
      const auto x = static_cast<double>(p[s.offset + i]);
      sum += x;
      sq += x * x;
    }
    const double n = static_cast<double>(s.logical_numel());
    return std::pair{sum / n, std::sqrt(sq / n)};
  };
  EXPECT_NEAR(stats("h.0.mlp.c_fc.weight").second, 0.02, 0.001);
  EXPECT_NEAR(stats("h.3.attn.c_proj.weight").second, 0.02 / std::sqrt(16.0), 0.0005);
  EXPECT_EQ(stats("h.0.ln_1.weight").first, 1.0);
  EXPECT_EQ(stats("h.0.attn.c_attn.bias").second, 0.0);
  const ParamSpec& wte = gpt.table().spec(gpt.table().find("wte.weight"));
  for (size_t i = wte.logical_numel(); i < wte.numel; ++i) {
    ASSERT_EQ(p[wte.offset + i], 0.0f) << "padding rows start at zero";
  }
}

// Tensor parallelism: a table for tp rank r holds part r of each cut parameter; its init values
// equal those elements of the whole, its runs cover the whole exactly once over the ranks, and a
// parameter's padding rows (wte's) fall on the last ranks' parts.
TEST(ParamTable, TensorParallelPartsAreSlicesOfTheWhole) {
  auto declare = [](ParamTable& t) {
    t.add("qkv.weight", {4, 12}, Init::normal, true, -1, {1, 3});  // column-cut q | k | v
    t.add("qkv.bias", {12}, Init::normal, false, -1, {0, 3});
    t.add("proj.weight", {8, 4}, Init::residual, true, -1, {0, 1});  // row-cut
    t.add("wte.weight", {16, 4}, Init::normal, true, 10, {0, 1});    // 10 logical rows of 16
    t.add("ln.weight", {4}, Init::ones, false);                      // replicated
  };
  ParamTable whole;
  declare(whole);
  std::vector<float> all(whole.total());
  whole.init_values(all.data(), 7, 2);
  for (int tp : {2, 4}) {
    std::vector<std::vector<int>> covered(whole.specs().size());
    for (size_t i = 0; i < whole.specs().size(); ++i)
      covered[i].assign(whole.spec(static_cast<int>(i)).logical_numel(), 0);
    for (int r = 0; r < tp; ++r) {
      ParamTable part({r, tp});
      declare(part);
      std::vector<float> mine(part.total());
      part.init_values(mine.data(), 7, 2);
      for (size_t i = 0; i < part.specs().size(); ++i) {
        const ParamSpec& s = part.spec(static_cast<int>(i));
        const ParamSpec& w = whole.spec(static_cast<int>(i));
        EXPECT_EQ(s.global_shape, w.global_shape) << s.name;
        for (size_t e = 0; e < s.logical_numel(); ++e) {
          ASSERT_EQ(mine[s.offset + e], all[w.offset + s.global_index(e)]) << s.name << " " << e;
        }
        for (size_t e = s.logical_numel(); e < s.numel; ++e) {
          ASSERT_EQ(mine[s.offset + e], 0.0f) << s.name << " padding";
        }
        size_t seen = 0;
        s.for_each_run(0, s.logical_numel(), [&](size_t global, size_t local, size_t n) {
          EXPECT_EQ(local, seen);
          seen += n;
          for (size_t k = 0; k < n; ++k) {
            EXPECT_EQ(s.global_index(local + k), global + k) << s.name;
            covered[i].at(global + k) += s.split() ? 1 : (r == 0 ? 1 : 0);
          }
        });
        EXPECT_EQ(seen, s.logical_numel());
      }
    }
    for (size_t i = 0; i < covered.size(); ++i) {
      for (int c : covered[i])
        ASSERT_EQ(c, 1) << whole.spec(static_cast<int>(i)).name << " tp " << tp;
    }
  }
  ParamTable last({3, 4});
  declare(last);
  EXPECT_EQ(last.spec(last.find("wte.weight")).shape, (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(last.spec(last.find("wte.weight")).logical_rows, 0);  // rows 12-15: all padding
  EXPECT_EQ(last.spec(last.find("qkv.weight")).shape, (std::vector<int64_t>{4, 3}));
}

}  // namespace
}  // namespace parti::model
