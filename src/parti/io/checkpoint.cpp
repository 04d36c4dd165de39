#include "parti/io/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "parti/core/check.h"
#include "parti/io/safetensors.h"

namespace parti::io {
namespace {

namespace fs = std::filesystem;

void sync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  PARTI_CHECK(fd >= 0, CheckpointError, path, ": cannot open to flush");
  int rc = ::fsync(fd);
  ::close(fd);
  PARTI_CHECK(rc == 0, CheckpointError, path, ": fsync failed");
}

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "step_%08lld", static_cast<long long>(step));
  return buf;
}

std::vector<int64_t> logical_shape(const model::ParamSpec& spec) {
  std::vector<int64_t> shape = spec.shape;
  shape[0] = spec.logical_rows;
  return shape;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  PARTI_CHECK(out.good(), CheckpointError, path, ": cannot create");
  out << text;
  out.flush();
  PARTI_CHECK(out.good(), CheckpointError, path, ": write failed");
}

void fill(const SafetensorsFile& file, const std::string& path, const std::string& name,
          const model::ParamSpec& spec, float* out) {
  auto it = file.tensors.find(name);
  PARTI_CHECK(it != file.tensors.end(), CheckpointError, path, ": tensor ", name, " is missing");
  PARTI_CHECK(it->second.shape == logical_shape(spec), CheckpointError, path, ": tensor ", name,
              " has a different shape than the model's");
  std::copy(it->second.data.begin(), it->second.data.end(), out);
}

}  // namespace

std::string save_checkpoint(const std::string& ckpt_dir, int64_t step,
                            const CheckpointBuffers& buffers, const nlohmann::json& state) {
  fs::create_directories(ckpt_dir);
  const std::string final_dir = ckpt_dir + "/" + step_name(step);
  const std::string tmp_dir = final_dir + ".tmp";
  fs::remove_all(tmp_dir);
  fs::create_directories(tmp_dir);
  std::vector<TensorRef> model_tensors, optim_tensors;
  for (const model::ParamSpec& spec : buffers.table.specs()) {
    model_tensors.push_back({spec.name, logical_shape(spec), buffers.params + spec.offset});
    if (buffers.m != nullptr && buffers.v != nullptr) {
      optim_tensors.push_back(
          {spec.name + ".exp_avg", logical_shape(spec), buffers.m + spec.offset});
      optim_tensors.push_back(
          {spec.name + ".exp_avg_sq", logical_shape(spec), buffers.v + spec.offset});
    }
  }
  const std::map<std::string, std::string> meta = {{"format", "pt"},
                                                   {"step", std::to_string(step)}};
  write_safetensors(tmp_dir + "/model.safetensors", model_tensors, meta);
  sync_path(tmp_dir + "/model.safetensors");
  if (!optim_tensors.empty()) {
    write_safetensors(tmp_dir + "/optim.safetensors", optim_tensors, meta);
    sync_path(tmp_dir + "/optim.safetensors");
  }
  nlohmann::json full = state;
  full["step"] = step;
  write_text(tmp_dir + "/state.json", full.dump(2) + "\n");
  sync_path(tmp_dir + "/state.json");
  sync_path(tmp_dir);
  fs::remove_all(final_dir);
  fs::rename(tmp_dir, final_dir);
  write_text(ckpt_dir + "/latest.tmp", step_name(step) + "\n");
  sync_path(ckpt_dir + "/latest.tmp");
  fs::rename(ckpt_dir + "/latest.tmp", ckpt_dir + "/latest");
  sync_path(ckpt_dir);
  return final_dir;
}

std::string resolve_checkpoint(const std::string& path) {
  if (fs::exists(path + "/state.json")) {
    return path;
  }
  std::ifstream latest(path + "/latest");
  PARTI_CHECK(latest.good(), CheckpointError, path,
              ": no checkpoint here (neither state.json nor latest)");
  std::string name;
  latest >> name;
  const std::string dir = path + "/" + name;
  PARTI_CHECK(!name.empty() && fs::exists(dir + "/state.json"), CheckpointError, path,
              "/latest names '", name, "', which is not a complete checkpoint");
  return dir;
}

nlohmann::json read_checkpoint_state(const std::string& step_dir) {
  const std::string path = step_dir + "/state.json";
  std::ifstream in(path);
  PARTI_CHECK(in.good(), CheckpointError, path, ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(str_cat(path, ": corrupted: ", e.what()));
  }
}

void load_checkpoint(const std::string& step_dir, const CheckpointBuffers& buffers) {
  const std::string model_path = step_dir + "/model.safetensors";
  const SafetensorsFile model = read_safetensors(model_path);
  for (const model::ParamSpec& spec : buffers.table.specs()) {
    fill(model, model_path, spec.name, spec, buffers.params + spec.offset);
  }
  if (buffers.m == nullptr || buffers.v == nullptr) {
    return;
  }
  const std::string optim_path = step_dir + "/optim.safetensors";
  const SafetensorsFile optim = read_safetensors(optim_path);
  for (const model::ParamSpec& spec : buffers.table.specs()) {
    fill(optim, optim_path, spec.name + ".exp_avg", spec, buffers.m + spec.offset);
    fill(optim, optim_path, spec.name + ".exp_avg_sq", spec, buffers.v + spec.offset);
  }
}

}  // namespace parti::io
