#include "parti/io/checkpoint_writer.h"

#include <algorithm>
#include <cstring>

#include "parti/io/files.h"

namespace parti::io {
namespace {

size_t numel(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

// Copies `count` floats from `from` (null: nothing) to `*at`; returns where they went.
float* copy_to(float*& at, const float* from, size_t count) {
  if (from == nullptr) return nullptr;
  float* to = at;
  std::memcpy(to, from, count * sizeof(float));
  at += count;
  return to;
}

}  // namespace

CheckpointWriter::~CheckpointWriter() { join(); }

void CheckpointWriter::join() {
  if (thread_.joinable()) thread_.join();
}

void CheckpointWriter::start(const std::string& ckpt_dir, int64_t step,
                             const model::ParamTable& table, const model::ParamTable* file_table,
                             const std::vector<CheckpointSlice>& slices,
                             const std::vector<SideFile>& side_files) {
  join();
  size_t total = 0;
  for (const CheckpointSlice& s : slices) {
    total += s.count * ((s.params != nullptr ? 1 : 0) + (s.m != nullptr && s.v != nullptr ? 2 : 0));
  }
  for (const SideFile& f : side_files) {
    for (const TensorRef& t : f.tensors) total += numel(t.shape);
  }
  values_.resize(total);  // kept between saves: allocated once
  float* at = values_.data();
  std::vector<CheckpointSlice> copies;
  for (const CheckpointSlice& s : slices) {
    const bool moments = s.m != nullptr && s.v != nullptr;
    float* p = copy_to(at, s.params, s.count);
    float* m = moments ? copy_to(at, s.m, s.count) : nullptr;
    float* v = moments ? copy_to(at, s.v, s.count) : nullptr;
    copies.push_back({s.begin, s.count, p, m, v});
  }
  std::vector<SideFile> files = side_files;
  for (SideFile& f : files) {
    for (TensorRef& t : f.tensors) t.data = copy_to(at, t.data, numel(t.shape));
  }
  ckpt_dir_ = ckpt_dir;
  step_ = step;
  error_ = nullptr;
  written_ = false;
  finished_ = false;
  finishing_ = false;
  thread_ =
      std::thread([this, &table, file_table, copies = std::move(copies), files = std::move(files)] {
        try {
          write_checkpoint_slices(ckpt_dir_, step_, table, copies, file_table);
          for (const SideFile& f : files) {
            write_safetensors(f.path, f.tensors, f.metadata);
            sync_path(f.path);
          }
        } catch (...) {
          error_ = std::current_exception();
        }
        written_ = true;
      });
}

void CheckpointWriter::wait_written() {
  join();
  if (error_ != nullptr) {
    std::exception_ptr error = error_;
    error_ = nullptr;
    std::rethrow_exception(error);
  }
}

void CheckpointWriter::finish(const nlohmann::json& state, int keep_last) {
  join();
  finishing_ = true;
  thread_ = std::thread([this, state, keep_last] {
    try {
      dir_ = finish_checkpoint(ckpt_dir_, step_, state);
      removed_ = prune_checkpoints(ckpt_dir_, keep_last);
    } catch (...) {
      error_ = std::current_exception();
    }
    finished_ = true;
  });
}

std::string CheckpointWriter::wait_finished(std::vector<std::string>* removed) {
  join();
  finishing_ = false;
  if (error_ != nullptr) {
    std::exception_ptr error = error_;
    error_ = nullptr;
    std::rethrow_exception(error);
  }
  *removed = removed_;
  return dir_;
}

}  // namespace parti::io
