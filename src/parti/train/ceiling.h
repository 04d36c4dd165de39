// What MFU is measured against (issue #23): a per-rank peak in GFLOP/s. Given (--peak-gflops,
// e.g. a hardware profile's), it is used as is; else it is this machine's best sgemm rate at the
// run's thread count, measured once and cached, so that MFU does not move with a reading taken
// at every start (117 to 159 GFLOP/s were seen between runs on one VM). The cache is sgemm.json
// in $PARTI_CACHE_DIR, else $XDG_CACHE_HOME/parti, else ~/.cache/parti: one entry per CPU model,
// BLAS set-up and thread count. Without a folder it can write, it measures every time.
#pragma once

#include <string>

namespace parti::train {

struct Ceiling {
  double gflops = 0.0;
  std::string source;  // how it was obtained, for the run's header line
};

// `threads`: this rank's (core::threads()); `idle`: the machine runs no more threads than it has
// cores (a reading on an oversubscribed machine is used for this run but not cached).
Ceiling mfu_ceiling(double given_gflops, int threads, bool idle);

}  // namespace parti::train
