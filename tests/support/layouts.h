// The layout matrix as data (STYLE habit 4, issues #16, #17): every multi-rank layout the
// equivalence tests hold to the single-process run of the same model family, one row each (model
// family x layout), in one table. Each partitioning's suite
// takes its rows (layouts(keep)) and runs them its way; adding a layout, or a partitioning's
// column, is one edit here. Names are the ctest case names.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace parti::test {

struct LayoutCase {
  std::string name = "";
  std::string family = "gpt2";  // the model family: its test preset (tiny, llama-tiny)
  int dp = 1, tp = 1, pp = 1, cp = 1;
  bool sp = false;
  int zero = 0;
  // Sequences per micro-batch on a dp rank, of the global batch of 8; 0: two accumulated
  // micro-batches per step (8 / dp / 2).
  int micro_batch = 0;
  std::string extra = "";  // further layout flags (--schedule, --virtual-stages, --recompute ...)
  std::string model = "";  // model flags that differ from the suite's reference (its own run)

  int ranks() const { return dp * tp * pp * cp; }
  std::string preset() const { return family == "gpt2" ? "tiny" : family + "-tiny"; }
  int micro_batch_or_two() const { return micro_batch > 0 ? micro_batch : 8 / dp / 2; }
  std::string flags() const {
    return " --dp " + std::to_string(dp) + " --tp " + std::to_string(tp) + " --pp " +
           std::to_string(pp) + " --cp " + std::to_string(cp) + " --zero " + std::to_string(zero) +
           (sp ? " --sp" : "") + (extra.empty() ? "" : " " + extra);
  }
};

inline const std::vector<LayoutCase>& layout_matrix() {
  static const std::vector<LayoutCase> table = {
      // data parallelism and ZeRO (its suite runs each with one and with two micro-batches)
      {.name = "Dp1Zero0"},
      {.name = "Dp2Zero0", .dp = 2},
      {.name = "Dp2Zero1", .dp = 2, .zero = 1},
      {.name = "Dp2Zero2", .dp = 2, .zero = 2},
      {.name = "Dp2Zero3", .dp = 2, .zero = 3},
      {.name = "Dp4Zero0", .dp = 4},
      {.name = "Dp4Zero1", .dp = 4, .zero = 1},
      {.name = "Dp4Zero2", .dp = 4, .zero = 2},
      {.name = "Dp4Zero3", .dp = 4, .zero = 3},
      // tensor and sequence parallelism
      {.name = "Dp1Tp2Zero0", .tp = 2},
      {.name = "Dp1Tp2Zero0Sp", .tp = 2, .sp = true},
      {.name = "Dp1Tp4Zero0", .tp = 4},
      {.name = "Dp1Tp4Zero0Sp", .tp = 4, .sp = true},
      {.name = "Dp2Tp2Zero0", .dp = 2, .tp = 2},
      {.name = "Dp2Tp2Zero1", .dp = 2, .tp = 2, .zero = 1},
      {.name = "Dp2Tp2Zero2", .dp = 2, .tp = 2, .zero = 2},
      {.name = "Dp2Tp2Zero3", .dp = 2, .tp = 2, .zero = 3},
      {.name = "Dp2Tp2Zero3Sp", .dp = 2, .tp = 2, .sp = true, .zero = 3},
      // block partitioning (issue #21): tp 4 as a 2 x 2 grid, alone, with dp and ZeRO, with pp
      {.name = "Tp4Grid2d", .tp = 4, .extra = "--tp-mode 2d"},
      {.name = "Dp2Tp4Grid2dZero1", .dp = 2, .tp = 4, .zero = 1, .extra = "--tp-mode 2d"},
      {.name = "Dp2Tp4Grid2dZero3", .dp = 2, .tp = 4, .zero = 3, .extra = "--tp-mode 2d"},
      {.name = "Tp4Grid2dPp2", .tp = 4, .pp = 2, .micro_batch = 2, .extra = "--tp-mode 2d"},
      {.name = "Tp8Grid25d", .tp = 8, .micro_batch = 4, .extra = "--tp-mode 2.5d --tp-depth 2"},
      {.name = "Cp2Tp4Grid2d", .tp = 4, .cp = 2, .micro_batch = 2, .extra = "--tp-mode 2d"},
      // pipeline parallelism: every schedule, with dp, tp and sp, and recomputation
      {.name = "Pp2Gpipe", .pp = 2, .micro_batch = 1, .extra = "--schedule gpipe"},
      {.name = "Pp2OneFOneB", .pp = 2, .micro_batch = 1, .extra = "--schedule 1f1b"},
      {.name = "Pp2Interleaved",
       .pp = 2,
       .micro_batch = 1,
       .extra = "--schedule interleaved --virtual-stages 2"},
      {.name = "Pp2Zb", .pp = 2, .micro_batch = 1, .extra = "--schedule zb"},
      {.name = "Pp4Gpipe", .pp = 4, .micro_batch = 1, .extra = "--schedule gpipe"},
      {.name = "Pp4OneFOneB", .pp = 4, .micro_batch = 2, .extra = "--schedule 1f1b"},
      {.name = "Pp4Interleaved",
       .pp = 4,
       .micro_batch = 1,
       .extra = "--schedule interleaved --virtual-stages 2",
       .model = "--layers 8"},
      {.name = "Pp4Zb", .pp = 4, .micro_batch = 1, .extra = "--schedule zb"},
      {.name = "Pp2UnevenLayers", .pp = 2, .micro_batch = 1, .extra = "--pp-layers 3,1"},
      {.name = "Dp2Pp2Zero1", .dp = 2, .pp = 2, .zero = 1, .micro_batch = 1},
      // ZeRO-2/3 under a pipeline: each micro-batch-chunk's units reduce-scattered as its
      // backward (W under zb) finishes them, the tied embedding added shard by shard
      {.name = "Dp2Pp2Zero2", .dp = 2, .pp = 2, .zero = 2, .micro_batch = 1},
      {.name = "Dp2Pp2Zero2Zb",
       .dp = 2,
       .pp = 2,
       .zero = 2,
       .micro_batch = 1,
       .extra = "--schedule zb"},
      {.name = "Dp2Pp2Zero3", .dp = 2, .pp = 2, .zero = 3, .micro_batch = 1},
      {.name = "Dp2Pp2Zero3Zb",
       .dp = 2,
       .pp = 2,
       .zero = 3,
       .micro_batch = 1,
       .extra = "--schedule zb"},
      {.name = "Dp2Pp2Zero3Interleaved",
       .dp = 2,
       .pp = 2,
       .zero = 3,
       .micro_batch = 1,
       .extra = "--schedule interleaved --virtual-stages 2"},
      {.name = "Tp2Pp2", .tp = 2, .pp = 2, .micro_batch = 1, .extra = "--schedule zb"},
      {.name = "Tp2SpPp2",
       .tp = 2,
       .pp = 2,
       .sp = true,
       .micro_batch = 2,
       .extra = "--schedule interleaved --virtual-stages 2"},
      {.name = "Dp2Tp2SpPp2Zero1",
       .dp = 2,
       .tp = 2,
       .pp = 2,
       .sp = true,
       .zero = 1,
       .micro_batch = 1},
      {.name = "Dp2Tp2SpPp2Zero3Zb",
       .dp = 2,
       .tp = 2,
       .pp = 2,
       .sp = true,
       .zero = 3,
       .micro_batch = 1,
       .extra = "--schedule zb"},
      {.name = "Pp2RecomputeFull", .pp = 2, .micro_batch = 1, .extra = "--recompute full"},
      {.name = "Pp2ZbRecomputeSelective",
       .pp = 2,
       .micro_batch = 1,
       .extra = "--schedule zb --recompute selective"},
      {.name = "Pp2ZbRecomputeFull",
       .pp = 2,
       .micro_batch = 1,
       .extra = "--schedule zb --recompute full"},
      // context parallelism, alone and with dp (ZeRO 0 and 3), tp (and sp) and pp
      {.name = "Dp1Cp2Tp1Pp1Zero0", .cp = 2},
      {.name = "Dp1Cp4Tp1Pp1Zero0", .cp = 4},
      {.name = "Dp2Cp2Tp1Pp1Zero0", .dp = 2, .cp = 2},
      {.name = "Dp2Cp2Tp1Pp1Zero3", .dp = 2, .cp = 2, .zero = 3},
      {.name = "Dp1Cp2Tp2Pp1Zero0", .tp = 2, .cp = 2},
      {.name = "Dp1Cp2Tp2Pp1Zero0Sp", .tp = 2, .cp = 2, .sp = true},
      {.name = "Dp1Cp2Tp1Pp2Zero0", .pp = 2, .cp = 2},
      {.name = "Dp1Cp2Tp1Pp2Zero1", .pp = 2, .cp = 2, .zero = 1},
      {.name = "Dp2Cp2Tp1Pp2Zero2Zb",
       .dp = 2,
       .pp = 2,
       .cp = 2,
       .zero = 2,
       .extra = "--schedule zb"},
      // The Llama family (llama-tiny: grouped-query attention, RoPE, SwiGLU, untied head)
      {.name = "LlamaDp2Zero0", .family = "llama", .dp = 2},
      {.name = "LlamaDp2Zero1", .family = "llama", .dp = 2, .zero = 1},
      {.name = "LlamaDp2Zero2", .family = "llama", .dp = 2, .zero = 2},
      {.name = "LlamaDp2Zero3", .family = "llama", .dp = 2, .zero = 3},
      {.name = "LlamaDp4Zero0", .family = "llama", .dp = 4},
      {.name = "LlamaDp4Zero1", .family = "llama", .dp = 4, .zero = 1},
      {.name = "LlamaDp4Zero2", .family = "llama", .dp = 4, .zero = 2},
      {.name = "LlamaDp4Zero3", .family = "llama", .dp = 4, .zero = 3},
      {.name = "LlamaDp1Tp2Zero0", .family = "llama", .tp = 2},
      {.name = "LlamaDp1Tp2Zero0Sp", .family = "llama", .tp = 2, .sp = true},
      {.name = "LlamaDp2Tp2Zero2Sp", .family = "llama", .dp = 2, .tp = 2, .sp = true, .zero = 2},
      {.name = "LlamaTp4Grid2d", .family = "llama", .tp = 4, .extra = "--tp-mode 2d"},
      {.name = "LlamaPp2Gpipe",
       .family = "llama",
       .pp = 2,
       .micro_batch = 1,
       .extra = "--schedule gpipe"},
      {.name = "LlamaPp2OneFOneB", .family = "llama", .pp = 2, .micro_batch = 1},
      {.name = "LlamaPp2Zb",
       .family = "llama",
       .pp = 2,
       .micro_batch = 1,
       .extra = "--schedule zb"},
      {.name = "LlamaPp2Interleaved",
       .family = "llama",
       .pp = 2,
       .micro_batch = 1,
       .extra = "--schedule interleaved --virtual-stages 2"},
      {.name = "LlamaDp2Tp2Pp2Zero1",
       .family = "llama",
       .dp = 2,
       .tp = 2,
       .pp = 2,
       .zero = 1,
       .micro_batch = 1},
      {.name = "LlamaTiedDp2Pp2Zero3Zb",
       .family = "llama",
       .dp = 2,
       .pp = 2,
       .zero = 3,
       .micro_batch = 1,
       .extra = "--schedule zb",
       .model = "--tie-embeddings"},
      {.name = "LlamaDp1Cp2Tp1Pp1Zero0", .family = "llama", .cp = 2},
      {.name = "LlamaDp2Cp2Tp1Pp1Zero3", .family = "llama", .dp = 2, .cp = 2, .zero = 3},
  };
  return table;
}

// The rows `keep` accepts, in table order.
inline std::vector<LayoutCase> layouts(const std::function<bool(const LayoutCase&)>& keep) {
  std::vector<LayoutCase> out;
  for (const LayoutCase& l : layout_matrix()) {
    if (keep(l)) {
      out.push_back(l);
    }
  }
  return out;
}

inline void PrintTo(const LayoutCase& l, std::ostream* os) { *os << l.name << ":" << l.flags(); }

}  // namespace parti::test
