// Preemption (issue #18): SIGTERM, SIGINT and SIGUSR1 (Slurm's warning signal; Open MPI's mpirun
// forwards it to every rank) no longer end a run where it stands. While a StopSignals lives, the
// first such signal only records its number; the trainer finishes the step, agrees with every
// rank on stopping (one all-reduce of the flag per step, so a signal to a single rank suffices),
// writes a checkpoint and exits with kExitPreempted. A second signal of the same kind takes its
// default action at once (a second Ctrl-C ends the process).
#pragma once

namespace parti::train {

class StopSignals {
 public:
  StopSignals();   // installs the handlers (SA_RESTART: interrupted system calls resume)
  ~StopSignals();  // restores the previous ones
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int received() const;  // the first signal's number since construction, 0: none
};

const char* signal_name(int signal);  // "SIGTERM", ...

}  // namespace parti::train
