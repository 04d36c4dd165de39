// What a run's step line and JSONL records say of its progress (issue #23): the time, the pace,
// the memory of this rank, a run id.
#pragma once

#include <cstdint>
#include <string>

namespace parti::train {

// This launch's id: its UTC start time and process id, "20261201T171233Z-1a2b".
std::string new_run_id();
// The UTC time now, ISO 8601 with milliseconds: "2026-12-01T17:12:33.123Z".
std::string utc_now();
// This process's resident memory (bytes), from /proc/self/statm (0 where there is none).
int64_t resident_bytes();
// Whether this node runs no more threads than it has cores: the job's ranks here (Open MPI's
// OMPI_COMM_WORLD_LOCAL_SIZE, else 1) times `threads`.
bool machine_idle(int threads);
// Seconds left at the pace so far: `done` units took `elapsed` seconds, `left` remain; -1 when
// nothing is done yet.
double eta_seconds(double elapsed, double done, double left);
// "42s", "3m05s", "2h07m"
std::string duration(double seconds);
// "950", "12.3k", "4.56M", "1.20B"
std::string count(int64_t n);

}  // namespace parti::train
