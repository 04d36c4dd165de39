#include "parti/io/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "parti/core/check.h"
#include "parti/io/files.h"
#include "parti/io/safetensors.h"

namespace parti::io {
namespace {

namespace fs = std::filesystem;

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "step_%08lld", static_cast<long long>(step));
  return buf;
}

const std::vector<int64_t>& logical_shape(const model::ParamSpec& spec) {
  return spec.global_shape;
}

const std::map<std::string, std::string> metadata(int64_t step) {
  return {{"format", "pt"}, {"step", std::to_string(step)}};
}

std::string tmp_dir_of(const std::string& ckpt_dir, int64_t step) {
  return ckpt_dir + "/" + step_name(step) + ".tmp";
}

// The files' tensors: parameters in table order; moments as <name>.exp_avg, .exp_avg_sq.
std::vector<TensorShape> model_tensors(const model::ParamTable& table) {
  std::vector<TensorShape> out;
  for (const model::ParamSpec& spec : table.specs()) {
    out.push_back({spec.name, logical_shape(spec)});
  }
  return out;
}

std::vector<TensorShape> optim_tensors(const model::ParamTable& table) {
  std::vector<TensorShape> out;
  for (const model::ParamSpec& spec : table.specs()) {
    out.push_back({spec.name + ".exp_avg", logical_shape(spec)});
    out.push_back({spec.name + ".exp_avg_sq", logical_shape(spec)});
  }
  return out;
}

// Calls visit(spec, first element within the global tensor, index within the slice, count) for
// each contiguous run of the global tensors that the slice's logical data covers (one per
// parameter without tensor parallelism; a tensor-parallel part is strided in the whole).
// `owned`: only the parts this rank owns (ParamSpec::owner: one writer per distinct part).
template <typename Visit>
void for_each_part(const model::ParamTable& table, const CheckpointSlice& slice, bool owned,
                   Visit&& visit) {
  for (const model::ParamSpec& spec : table.specs()) {
    if (owned && !spec.owner) {
      continue;
    }
    const size_t lo = std::max(slice.begin, spec.offset);
    const size_t hi = std::min(slice.begin + slice.count, spec.offset + spec.logical_numel());
    if (lo < hi) {
      spec.for_each_run(lo - spec.offset, hi - lo, [&](size_t global, size_t local, size_t n) {
        visit(spec, global, spec.offset + local - slice.begin, n);
      });
    }
  }
}

}  // namespace

void begin_checkpoint(const std::string& ckpt_dir, int64_t step, const model::ParamTable& table,
                      bool with_optim) {
  make_dirs(ckpt_dir);
  const std::string tmp_dir = tmp_dir_of(ckpt_dir, step);
  remove_tree(tmp_dir);
  make_dirs(tmp_dir);
  create_safetensors(tmp_dir + "/model.safetensors",
                     plan_safetensors(model_tensors(table), metadata(step)));
  if (with_optim) {
    create_safetensors(tmp_dir + "/optim.safetensors",
                       plan_safetensors(optim_tensors(table), metadata(step)));
  }
}

void write_checkpoint_slices(const std::string& ckpt_dir, int64_t step,
                             const model::ParamTable& table,
                             const std::vector<CheckpointSlice>& slices,
                             const model::ParamTable* file_table) {
  const std::string tmp_dir = tmp_dir_of(ckpt_dir, step);
  const std::string model_path = tmp_dir + "/model.safetensors";
  const std::string optim_path = tmp_dir + "/optim.safetensors";
  const model::ParamTable& files = file_table != nullptr ? *file_table : table;
  const SafetensorsPlan model_plan = plan_safetensors(model_tensors(files), metadata(step));
  const SafetensorsPlan optim_plan = plan_safetensors(optim_tensors(files), metadata(step));
  bool optim = false;
  // A part several tensor-parallel ranks hold is written by its owner alone.
  for (const CheckpointSlice& slice : slices) {
    for_each_part(table, slice, true,
                  [&](const model::ParamSpec& spec, size_t first, size_t at, size_t count) {
                    if (slice.params != nullptr) {
                      write_tensor_part(model_path, model_plan, spec.name, first, slice.params + at,
                                        count);
                    }
                    if (slice.m != nullptr && slice.v != nullptr) {
                      write_tensor_part(optim_path, optim_plan, spec.name + ".exp_avg", first,
                                        slice.m + at, count);
                      write_tensor_part(optim_path, optim_plan, spec.name + ".exp_avg_sq", first,
                                        slice.v + at, count);
                      optim = true;
                    }
                  });
  }
  sync_path(model_path);
  if (optim) {
    sync_path(optim_path);
  }
}

std::vector<std::string> prune_checkpoints(const std::string& ckpt_dir, int keep_last) {
  std::string latest;
  std::ifstream(ckpt_dir + "/latest") >> latest;
  std::vector<std::string> removed;
  for (const auto& entry : fs::directory_iterator(ckpt_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("step_") && name.ends_with(".tmp") && entry.is_directory()) {
      removed.push_back(name);
    }
  }
  const std::vector<std::string> steps = complete_checkpoints(ckpt_dir);
  if (keep_last > 0 && steps.size() > static_cast<size_t>(keep_last)) {
    for (size_t i = 0; i + static_cast<size_t>(keep_last) < steps.size(); ++i) {
      if (steps[i] != latest) removed.push_back(steps[i]);
    }
  }
  for (const std::string& name : removed) remove_tree(ckpt_dir + "/" + name);
  return removed;
}

std::vector<std::string> complete_checkpoints(const std::string& ckpt_dir) {
  std::vector<std::string> steps;
  std::error_code missing;
  for (const auto& entry : fs::directory_iterator(ckpt_dir, missing)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("step_") && !name.ends_with(".tmp") && entry.is_directory() &&
        fs::exists(entry.path() / "state.json")) {
      steps.push_back(name);
    }
  }
  std::sort(steps.begin(), steps.end());  // step_%08d: by name is by step
  return steps;
}

bool holds_checkpoints(const std::string& ckpt_dir) {
  return fs::exists(ckpt_dir + "/latest") || !complete_checkpoints(ckpt_dir).empty();
}

int remove_checkpoints(const std::string& ckpt_dir) {
  std::vector<std::string> steps;
  std::error_code missing;
  for (const auto& entry : fs::directory_iterator(ckpt_dir, missing)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("step_")) steps.push_back(name);
  }
  remove_tree(ckpt_dir + "/latest");
  for (const std::string& name : steps) remove_tree(ckpt_dir + "/" + name);
  return static_cast<int>(steps.size());
}

std::string checkpoint_tmp_dir(const std::string& ckpt_dir, int64_t step) {
  return tmp_dir_of(ckpt_dir, step);
}

std::string finish_checkpoint(const std::string& ckpt_dir, int64_t step,
                              const nlohmann::json& state) {
  const std::string final_dir = ckpt_dir + "/" + step_name(step);
  const std::string tmp_dir = tmp_dir_of(ckpt_dir, step);
  for (const char* file : {"/model.safetensors", "/optim.safetensors"}) {
    if (fs::exists(tmp_dir + file)) {
      seal_safetensors(tmp_dir + file);
      sync_path(tmp_dir + file);
    }
  }
  nlohmann::json full = state;
  full["step"] = step;
  if (full.contains("hf_config")) {
    write_text(tmp_dir + "/config.json", full["hf_config"].dump(2) + "\n");
    sync_path(tmp_dir + "/config.json");
    full.erase("hf_config");
  }
  write_text(tmp_dir + "/state.json", full.dump(2) + "\n");
  sync_path(tmp_dir + "/state.json");
  sync_path(tmp_dir);
  remove_tree(final_dir);
  rename_path(tmp_dir, final_dir);
  write_text_atomically(ckpt_dir + "/latest", step_name(step) + "\n");
  sync_path(ckpt_dir);
  return final_dir;
}

std::string save_checkpoint(const std::string& ckpt_dir, int64_t step,
                            const CheckpointBuffers& buffers, const nlohmann::json& state) {
  const bool with_optim = buffers.m != nullptr && buffers.v != nullptr;
  begin_checkpoint(ckpt_dir, step, buffers.table, with_optim);
  write_checkpoint_slices(ckpt_dir, step, buffers.table,
                          {{0, buffers.table.total(), buffers.params, buffers.m, buffers.v}});
  return finish_checkpoint(ckpt_dir, step, state);
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
  // One folder name, inside this folder: never a path that leaves it.
  PARTI_CHECK(name.find('/') == std::string::npos && name != "." && name != "..", CheckpointError,
              path, "/latest names '", name, "': a step folder inside ", path, " was expected");
  const std::string dir = path + "/" + name;
  PARTI_CHECK(!name.empty() && fs::exists(dir + "/state.json"), CheckpointError, path,
              "/latest names '", name, "', which is not a complete checkpoint");
  return dir;
}

nlohmann::json read_checkpoint_state(const std::string& step_dir) {
  const std::string path = step_dir + "/state.json";
  std::ifstream in(path);
  PARTI_CHECK(in.good(), CheckpointError, path, ": cannot open: ", os_error(errno));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(str_cat(path, ": corrupted: ", e.what()));
  }
}

void load_checkpoint(const std::string& step_dir, const CheckpointBuffers& buffers) {
  load_checkpoint_slices(step_dir, buffers.table,
                         {{0, buffers.table.total(), buffers.params, buffers.m, buffers.v}});
}

void load_param_slices(const SafetensorsReader& model, const model::ParamTable& table,
                       const std::vector<CheckpointSlice>& slices) {
  for (const model::ParamSpec& spec : table.specs()) {
    model.expect_shape(spec.name, logical_shape(spec));
  }
  for (const CheckpointSlice& slice : slices) {
    if (slice.params == nullptr) continue;
    std::fill(slice.params, slice.params + slice.count, 0.0f);
    for_each_part(table, slice, false,
                  [&](const model::ParamSpec& spec, size_t first, size_t at, size_t count) {
                    model.read(spec.name, first, slice.params + at, count);
                  });
  }
}

void load_checkpoint_slices(const std::string& step_dir, const model::ParamTable& table,
                            const std::vector<CheckpointSlice>& slices) {
  const SafetensorsReader model(step_dir + "/model.safetensors");
  model.verify();
  load_param_slices(model, table, slices);
  bool optim = false;
  for (const CheckpointSlice& slice : slices) {
    optim = optim || (slice.m != nullptr && slice.v != nullptr);
  }
  if (!optim) return;
  const SafetensorsReader moments(step_dir + "/optim.safetensors");
  moments.verify();
  for (const model::ParamSpec& spec : table.specs()) {
    moments.expect_shape(spec.name + ".exp_avg", logical_shape(spec));
    moments.expect_shape(spec.name + ".exp_avg_sq", logical_shape(spec));
  }
  for (const CheckpointSlice& slice : slices) {
    if (slice.m == nullptr || slice.v == nullptr) continue;
    std::fill(slice.m, slice.m + slice.count, 0.0f);
    std::fill(slice.v, slice.v + slice.count, 0.0f);
    for_each_part(table, slice, false,
                  [&](const model::ParamSpec& spec, size_t first, size_t at, size_t count) {
                    moments.read(spec.name + ".exp_avg", first, slice.m + at, count);
                    moments.read(spec.name + ".exp_avg_sq", first, slice.v + at, count);
                  });
  }
}

}  // namespace parti::io
