// Ranks agree (issue #18): ranks started with different flags (mpirun's `A : B` form, a script
// that differs per host) used to train two diverged replicas into one checkpoint, or corrupt the
// heap. Before any set-up each rank hashes every field of its resolved configuration; one
// all-gather of the hashes finds the first rank and field that differ from rank 0's, a second
// one brings both values, and that rank fails naming the flag and the two values (ending the
// job); the other ranks wait for the end instead of building a different model.
#pragma once

#include <nlohmann/json.hpp>

#include "parti/dist/process_group.h"

namespace parti::train {

// `resolved`: the configuration as train::to_json gives it (nested objects compared field by
// field). Collective over `world`; returns when every rank holds the same.
void check_ranks_agree(const nlohmann::ordered_json& resolved, dist::ProcessGroup& world);

}  // namespace parti::train
