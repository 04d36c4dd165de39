// Ranks agree (issue #18): ranks started with different flags (mpirun's `A : B` form, a script
// that differs per host) used to train two diverged replicas into one checkpoint, or corrupt the
// heap. Before any set-up each rank hashes every field of its resolved configuration; one
// all-gather of the hashes finds the first rank and field that differ from rank 0's, a second
// one brings both values, and that rank fails naming the flag and the two values (ending the
// job); the other ranks wait for the end instead of building a different model.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "parti/dist/process_group.h"

namespace parti::train {

// `resolved`: the configuration as train::to_json gives it (nested objects compared field by
// field). Collective over `world`; returns when every rank holds the same.
void check_ranks_agree(const nlohmann::ordered_json& resolved, dist::ProcessGroup& world);

// The set-up checks, agreed (issue #23): every rank runs `checks` (flags, files, memory: what
// fails alike on every rank when it fails), then one all-reduce over `world` finds the lowest
// rank that failed. When none did, returns; else every rank throws AgreedError with that rank's
// exit code (2 for ConfigError, DataError and CheckpointError, else 1), and only that rank holds
// report(): one message per failure, and no MPI_Abort. A single process rethrows its own error.
void agree_on_checks(const std::function<void()>& checks, dist::ProcessGroup& world);

}  // namespace parti::train
