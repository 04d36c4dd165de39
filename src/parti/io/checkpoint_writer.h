// Asynchronous checkpoints (train --async-save, issue #20): at the step boundary each process
// copies its slices of the parameters and AdamW moments (and any per-process file, e.g.
// PowerSGD's state) into memory held here, then a background thread writes them into the files
// begin_checkpoint created and flushes them, while training goes on. Once every process's part is
// on disk (the caller learns that collectively: written() on each process, reduced), the
// finishing process seals the files, writes state.json, renames the folder, moves `latest` and
// prunes, again in its thread. One save in flight at most: start() waits for the previous one.
// What reaches disk equals a blocking save's bytes; a crash before the end leaves only a .tmp
// folder, as a blocking save does.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "parti/io/checkpoint.h"
#include "parti/io/safetensors.h"

namespace parti::io {

// A per-process file written beside the checkpoint's (into its .tmp folder): tensors copied.
struct SideFile {
  std::string path;
  std::vector<TensorRef> tensors;  // data copied by start(); the pointers need not outlive it
  std::map<std::string, std::string> metadata;
};

class CheckpointWriter {
 public:
  CheckpointWriter() = default;
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;
  ~CheckpointWriter();  // waits for the thread (an unfinished save stays a .tmp folder)

  // Copies the slices' values and the side files' tensors (the caller's buffers may change as
  // soon as it returns) and starts writing them. `table` and `file_table` as for
  // write_checkpoint_slices; they must outlive the save.
  void start(const std::string& ckpt_dir, int64_t step, const model::ParamTable& table,
             const model::ParamTable* file_table, const std::vector<CheckpointSlice>& slices,
             const std::vector<SideFile>& side_files);
  // This process's part is on disk (or its write failed: written() and failed()).
  bool written() const { return written_.load(); }
  bool failed() const { return written() && error_ != nullptr; }
  // Waits until written(); rethrows the write's error.
  void wait_written();

  // On the finishing process, once every process's part is written: finish_checkpoint(state)
  // and prune_checkpoints(keep_last) in the thread.
  void finish(const nlohmann::json& state, int keep_last);
  bool finishing() const { return finishing_; }
  bool finished() const { return finished_.load(); }
  // Waits for finish(); rethrows its error. Returns the step folder and what pruning removed.
  std::string wait_finished(std::vector<std::string>* removed);

 private:
  void join();
  std::thread thread_;
  std::string ckpt_dir_;
  int64_t step_ = 0;
  std::vector<float> values_;  // the slices' params, m and v, then the side files' tensors
  std::atomic<bool> written_{true};
  std::atomic<bool> finished_{true};
  bool finishing_ = false;
  std::exception_ptr error_;
  std::string dir_;
  std::vector<std::string> removed_;
};

}  // namespace parti::io
