// The context-parallel context a layer gets (issue #16): what attention needs to run around the
// cp ring (ring_attention.h), without the model naming a process group. Built by the trainer for
// the rank's cp group; a pass without one (null) runs attention over its own tokens.
#pragma once

namespace parti::dist {
class ProcessGroup;
}

namespace parti::parallel::context {

struct RingStats;  // ring_attention.h

struct ContextParallel {
  dist::ProcessGroup* group = nullptr;  // the cp group (size > 1)
  int size = 1;                         // cp
  int rank = 0;
  bool balanced = true;        // chunks i and 2cp-1-i (false: contiguous halves, for tests)
  RingStats* stats = nullptr;  // what the ring did, added up (null: not counted)
};

}  // namespace parti::parallel::context
