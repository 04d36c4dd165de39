// The MPI environment of a process started by mpirun (or srun): initialises MPI once, gives the
// world group and the splitter the Mesh builds its groups with, and aborts the whole job when a
// rank fails (so the others do not wait forever in a collective). A process not started by an
// MPI launcher never touches MPI: it runs as one rank with SelfGroup.
#pragma once

#include <memory>
#include <string>

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

// The baseline of `parti bench comm`: seconds per call (this rank's mean over `iters`, after one
// warm-up call) of Open MPI's own blocking collective on MPI_COMM_WORLD, called directly on
// `count` floats in the nccl-tests sense (op: all_reduce, reduce_scatter, all_gather: `count` is
// the whole buffer, a rank's block count / size; sendrecv: `count` to the next rank and from the
// previous one).
double raw_mpi_seconds(const std::string& op, size_t count, int iters);

}  // namespace parti::dist
