// The MPI environment of a process started by mpirun (or srun): initialises MPI once, gives the
// world group and the splitter the Mesh builds its groups with, and aborts the whole job when a
// rank fails (so the others do not wait forever in a collective). A process not started by an
// MPI launcher never touches MPI: it runs as one rank with SelfGroup.
#pragma once

#include <memory>

#include "parti/dist/mesh.h"
#include "parti/dist/process_group.h"
#include "parti/dist/watchdog.h"

namespace parti::dist {

// True when an MPI launcher started this process (Open MPI, PMI or PMIx variables are set).
bool launched_by_mpi();

class MpiEnv {
 public:
  MpiEnv(int* argc, char*** argv);  // MPI_Init_thread (funneled)
  ~MpiEnv();                        // MPI_Finalize
  MpiEnv(const MpiEnv&) = delete;
  MpiEnv& operator=(const MpiEnv&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  std::unique_ptr<ProcessGroup> world() const;
  Mesh::Split splitter() const;
  // Ends every rank of the job with `code` (MPI_Abort).
  [[noreturn]] static void abort_job(int code);
  // Watches every wait of every group made here (--comm-timeout sets its limit).
  Watchdog& watchdog() const { return *watchdog_; }
  // Groups made after this call compare every collective across their ranks first.
  void set_check_collectives(bool on) { check_collectives_ = on; }

 private:
  int rank_ = 0;
  int size_ = 1;
  std::unique_ptr<Watchdog> watchdog_;
  bool check_collectives_ = false;
};

}  // namespace parti::dist
