// DataParallel's checkpoints: each rank writes the slices of the parameters and AdamW moments it
// owns into the shared files, and under PowerSGD its own error feedback and Q factors.
#include <algorithm>
#include <filesystem>

#include "parti/core/check.h"
#include "parti/io/checkpoint.h"
#include "parti/io/checkpoint_writer.h"
#include "parti/io/files.h"
#include "parti/io/safetensors.h"
#include "parti/parallel/data/data_parallel.h"

namespace parti::parallel::data {

// The moments of owned unit u (stages 1-3: AdamW's segments are the owned blocks in order).
namespace {
size_t moment_offset(const ShardLayout& layout, const std::vector<int>& owned_units, int unit) {
  size_t offset = 0;
  for (int u : owned_units) {
    if (u == unit) {
      return offset;
    }
    offset += layout.owned(u);
  }
  PARTI_ASSERT(false, "unit ", unit, " is not owned here");
  return 0;
}
}  // namespace

void DataParallel::load(const std::string& step_dir, int optimizer_step) {
  float* m = adamw_->m().data();
  float* v = adamw_->v().data();
  std::vector<io::CheckpointSlice> slices;
  if (stage_ == 0) {
    slices.push_back({0, table_.total(), params_.data(), m, v});
  } else {
    if (stage_ <= 2) {
      slices.push_back({0, table_.total(), params_.data(), nullptr, nullptr});
    }
    for (int u : owned_units_) {
      const size_t at = moment_offset(layout_, owned_units_, u);
      float* p = stage_ == 3 ? shard_params_.data() + layout_.shard_offset(u) : nullptr;
      slices.push_back({layout_.owned_begin(u), layout_.owned(u), p, m + at, v + at});
    }
  }
  io::load_checkpoint_slices(step_dir, table_, slices);
  adamw_->set_step(optimizer_step);
}

void DataParallel::load_params(const io::SafetensorsReader& weights) {
  std::vector<io::CheckpointSlice> slices;
  if (stage_ <= 2) {
    slices.push_back({0, table_.total(), params_.data(), nullptr, nullptr});
  } else {
    for (int u : owned_units_) {
      slices.push_back({layout_.owned_begin(u), layout_.owned(u),
                        shard_params_.data() + layout_.shard_offset(u), nullptr, nullptr});
    }
  }
  io::load_param_slices(weights, table_, slices);
}

std::vector<io::CheckpointSlice> DataParallel::save_slices() {
  float* m = adamw_->m().data();
  float* v = adamw_->v().data();
  std::vector<io::CheckpointSlice> slices;
  for (int u : owned_units_) {
    const size_t begin = layout_.owned_begin(u);
    const size_t count = layout_.owned(u);
    float* p =
        stage_ == 3 ? shard_params_.data() + layout_.shard_offset(u) : params_.data() + begin;
    const size_t at = stage_ == 0 ? begin : moment_offset(layout_, owned_units_, u);
    // A pipeline's second copy of wte is left to the first stage: the parts around it only.
    size_t hole = 0, hole_end = 0;
    if (!tied_owner_) {
      hole = table_.spec(model_.tied_param()).offset;
      hole_end = hole + table_.spec(model_.tied_param()).numel;
    }
    const size_t end = begin + count;
    const size_t cut = std::clamp(hole, begin, end);
    const size_t cut_end = std::clamp(hole_end, begin, end);
    if (cut_end <= cut) {
      slices.push_back({begin, count, p, m + at, v + at});
      continue;
    }
    if (cut > begin) {
      slices.push_back({begin, cut - begin, p, m + at, v + at});
    }
    if (end > cut_end) {
      const size_t skip = cut_end - begin;
      slices.push_back({cut_end, end - cut_end, p + skip, m + at + skip, v + at + skip});
    }
  }
  return slices;
}

bool DataParallel::save_leader() const {
  // Pipeline stage 0 of dp and tp rank 0.
  return dp_.rank() == 0 && table_.tp().index == 0 && (pp_ == nullptr || pp_->rank() == 0);
}

void DataParallel::begin_save(const std::string& ckpt_dir, int64_t step) {
  // The leader creates the files before anyone writes: its dp group waits for it, then each tp
  // group for its member there, then each pipeline group.
  if (save_leader()) {
    io::begin_checkpoint(ckpt_dir, step, whole_ != nullptr ? *whole_ : table_, true);
    if (power_sgd() != nullptr) {
      std::filesystem::create_directories(io::checkpoint_tmp_dir(ckpt_dir, step) + "/powersgd");
    }
  }
  dp_.barrier();
  if (tp_ != nullptr) {
    tp_->barrier();
  }
  if (pp_ != nullptr) {
    pp_->barrier();
  }
}

std::vector<io::SideFile> DataParallel::save_side_files(const std::string& ckpt_dir,
                                                        int64_t step) const {
  const PowerSgd* psgd = power_sgd();
  if (psgd == nullptr) return {};
  // Each rank's own error feedback and Q factors, under its place in the mesh.
  io::SideFile file{compression_file(io::checkpoint_tmp_dir(ckpt_dir, step)),
                    {},
                    {{"powersgd_rank", std::to_string(compress_.rank)},
                     {"dp", std::to_string(dp_.size())},
                     {"tp", std::to_string(tp_ != nullptr ? tp_->size() : 1)},
                     {"pp", std::to_string(pp_ != nullptr ? pp_->size() : 1)}}};
  for (const auto& [index, st] : psgd->states()) {
    const std::string& name = table_.spec(index).name;
    const auto rows = static_cast<int64_t>(st.rows);
    const auto cols = static_cast<int64_t>(st.cols);
    file.tensors.push_back({name + ".powersgd_q", {cols, compress_.rank}, st.q.data()});
    file.tensors.push_back({name + ".powersgd_residual", {rows, cols}, st.residual.data()});
  }
  return {file};
}

std::string DataParallel::save(const std::string& ckpt_dir, int64_t step,
                               const nlohmann::json& state) {
  const std::vector<io::CheckpointSlice> slices = save_slices();
  begin_save(ckpt_dir, step);
  io::write_checkpoint_slices(ckpt_dir, step, table_, slices, whole_);
  for (const io::SideFile& f : save_side_files(ckpt_dir, step)) {
    io::write_safetensors(f.path, f.tensors, f.metadata);
    io::sync_path(f.path);
  }
  // The leader finishes after everyone wrote (the groups of begin_save in reverse).
  if (pp_ != nullptr) {
    pp_->barrier();
  }
  if (tp_ != nullptr) {
    tp_->barrier();
  }
  dp_.barrier();
  return save_leader() ? io::finish_checkpoint(ckpt_dir, step, state) : "";
}

bool DataParallel::start_save(const std::string& ckpt_dir, int64_t step,
                              io::CheckpointWriter& writer) {
  const std::vector<io::CheckpointSlice> slices = save_slices();
  begin_save(ckpt_dir, step);
  writer.start(ckpt_dir, step, table_, whole_, slices, save_side_files(ckpt_dir, step));
  return save_leader();
}

PowerSgd* DataParallel::power_sgd() const {
  return compress_.kind == Compression::powersgd ? static_cast<PowerSgd*>(reduction_.get())
                                                 : nullptr;
}

std::string DataParallel::compression_file(const std::string& step_dir) const {
  return str_cat(step_dir, "/powersgd/dp", dp_.rank(), "-tp", table_.tp().index, "-pp",
                 pp_ != nullptr ? pp_->rank() : 0, ".safetensors");
}

bool DataParallel::load_compression(const std::string& step_dir) {
  PowerSgd* psgd = power_sgd();
  const std::string path = compression_file(step_dir);
  if (psgd == nullptr || !std::filesystem::exists(path)) {
    return false;
  }
  const io::SafetensorsFile file = io::read_safetensors(path);
  auto meta = [&](const char* key) {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? std::string() : it->second;
  };
  if (meta("powersgd_rank") != std::to_string(compress_.rank) ||
      meta("dp") != std::to_string(dp_.size()) ||
      meta("tp") != std::to_string(tp_ != nullptr ? tp_->size() : 1) ||
      meta("pp") != std::to_string(pp_ != nullptr ? pp_->size() : 1)) {
    return false;
  }
  for (auto& [index, st] : psgd->states()) {
    const std::string& name = table_.spec(index).name;
    auto take = [&](const std::string& key, std::vector<float>& into) {
      auto it = file.tensors.find(key);
      PARTI_CHECK(it != file.tensors.end() && it->second.data.size() == into.size(),
                  CheckpointError, path, ": ", key, " is missing or has another shape");
      into = it->second.data;
    };
    take(name + ".powersgd_q", st.q);
    take(name + ".powersgd_residual", st.residual);
  }
  return true;
}

}  // namespace parti::parallel::data
