// `parti elastic` (issue #20): runs `parti train` under mpirun and restarts it from the newest
// good checkpoint when it fails for a reason other than its input (a killed rank, a collective's
// time-out, a lost host), up to --max-restarts times. With fewer ranks available than asked
// (hostfile entries that no longer answer) it re-plans the layout for the ranks left, down to
// --min-np: data parallelism shrinks and gradient accumulation grows, the global batch is kept,
// so the run trains the same model (every layout does).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace parti::cli {

// The layout flags of a train command line (the last of each, as train reads them).
struct ElasticLayout {
  int dp = 1, tp = 1, pp = 1, cp = 1;
  int micro_batch = 8, global_batch = 8;
  int ranks() const { return dp * tp * pp * cp; }
};
// Flags not given take train's defaults for a job of `np` ranks.
ElasticLayout layout_of(const std::vector<std::string>& train_args, int np);

// The layout for at most `ranks` ranks: the asked one when it fits, else tp, pp, cp and the
// micro-batch kept and dp the largest that fits and divides the global batch into whole
// micro-batch rounds. None when not even dp 1 fits.
std::optional<ElasticLayout> fit_layout(const ElasticLayout& asked, int ranks);

// Slots of an Open MPI hostfile ("host slots=N" lines; '#' comments) whose host answers: this
// machine's names always, other hosts when a TCP connection to `probe_port` (ssh's, 22, by
// default) opens within two seconds. `answering` receives those lines.
int available_slots(const std::string& hostfile, int probe_port,
                    std::vector<std::string>* answering);

}  // namespace parti::cli
