#include "parti/io/checkpoint_writer.h"

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

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The writer's thread writes what a blocking save writes, from copies made by start(): the
// caller's buffers (here overwritten at once) and side files' tensors may change while it
// writes. Two saves in a row reuse its memory; a failed write is rethrown by wait_written().
TEST(CheckpointWriter, WritesTheBlockingSavesBytesFromItsOwnCopy) {
  const std::string blocking = test::scratch("blocking"), async = test::scratch("async");
  const auto gpt = model::make_model<float>(model::ModelConfig{2, 2, 8, 4, 100});
  const model::ParamTable& t = gpt->table();
  std::vector<float> p(t.total()), m(t.total(), 0.25f), v(t.total(), 0.5f);
  std::vector<float> side = {1, 2, 3, 4, 5, 6};
  CheckpointWriter writer;
  for (int64_t step : {3, 6}) {
    t.init_values<float>(p.data(), static_cast<uint64_t>(step), 1);
    save_checkpoint(blocking, step, {t, p.data(), m.data(), v.data()}, {{"x", step}});
    begin_checkpoint(async, step, t, true);
    const size_t half = t.total() / 2;  // two slices, as two owners would hold them
    writer.start(async, step, t, nullptr,
                 {{0, half, p.data(), m.data(), v.data()},
                  {half, t.total() - half, p.data() + half, m.data() + half, v.data() + half}},
                 {{checkpoint_tmp_dir(async, step) + "/side.safetensors",
                   {{"s", {2, 3}, side.data()}},
                   {{"k", "v"}}}});
    const std::vector<float> kept_side = side;
    std::fill(p.begin(), p.end(), -1.0f);  // training goes on
    std::fill(side.begin(), side.end(), -1.0f);
    writer.wait_written();
    EXPECT_FALSE(writer.failed());
    writer.finish({{"x", step}}, 1);
    std::vector<std::string> removed;
    const std::string dir = writer.wait_finished(&removed);
    EXPECT_EQ(dir, async + "/step_0000000" + std::to_string(step));
    EXPECT_EQ(removed,
              step == 3 ? std::vector<std::string>{} : std::vector<std::string>{"step_00000003"});
    for (const char* file : {"/model.safetensors", "/optim.safetensors", "/state.json"}) {
      EXPECT_EQ(bytes_of(dir + file),
                bytes_of(blocking + "/step_0000000" + std::to_string(step) + file))
          << file;
    }
    EXPECT_EQ(read_safetensors(dir + "/side.safetensors").tensors.at("s").data, kept_side);
    side = kept_side;
  }
  EXPECT_EQ(bytes_of(async + "/latest"), "step_00000006\n");
  // A write that fails (its folder was never begun) is this process's error, rethrown.
  writer.start(async, 9, t, nullptr, {{0, t.total(), p.data(), nullptr, nullptr}}, {});
  EXPECT_THROW(writer.wait_written(), CheckpointError);
}

}  // namespace
}  // namespace parti::io
