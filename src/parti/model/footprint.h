// A family's shapes as the planner (plan/) counts them: the linear layers of one layer (how
// tensor parallelism cuts each), its norms, what its MLP keeps, and the two ends of the model.
// plan/ reads this and names no family; a family gives its own from its folder (registry.h).
// Sizes are at tp = 1.
#pragma once

#include <vector>

namespace parti::model {

struct Footprint {
  struct Linear {
    double in = 0, out = 0;
    bool column = true;  // column-parallel: out / tp per rank; row-parallel: in / tp
    bool bias = false;   // column: a bias part per rank; row: the whole bias
  };
  std::vector<Linear> layer;  // one layer's linear layers in forward order
  int norm_tensors = 1;       // C-sized tensors of one norm (LayerNorm: weight and bias)
  int norm_stats = 1;         // per-token values a norm saves (LayerNorm: mean and rstd)
  double hidden = 0;          // the MLP's hidden width
  int hidden_saved = 2;       // hidden-wide tensors the MLP's forward keeps (GELU 2, SwiGLU 3)
  bool positions = false;     // a learned position table (seq_len x C) beside the embedding
  bool tied = true;           // the output projection is the embedding (copied to the last stage)
  bool embedding_by_pieces = false;  // ZeRO-3 gathers the embedding unit by pieces
  // Eager PyTorch (one kernel per small op, no fusion): activation-sized element passes one
  // layer's forward streams beyond one kernel per norm, rotary embedding and activation: per
  // element of the residual stream (the norms), and per token at tp 1 over tensors tp splits
  // (rotary embeddings on q and k, the gated activation). Backward streams about twice as much.
  double eager_stream = 0;
  double eager_split = 0;
};

}  // namespace parti::model
