// The parameter table: every parameter's Hugging Face GPT-2 name, global shape, initialiser,
// whether AdamW decays it, and its slice of the flat buffers (params | grads | moments all use
// the same offsets). A parameter's identity is (name, shape), never its position in a layout.
//
// Initial values are a pure function of (seed, name, element index) through core/rng.h:
//   normal       N(0, 0.02)                      wte, wpe, c_attn, c_fc
//   residual     N(0, 0.02 / sqrt(2 L))          attn.c_proj.weight, mlp.c_proj.weight (GPT-2)
//   zeros, ones                                  biases; LayerNorm weights
// wte is stored with Vp rows; rows V..Vp-1 are padding, zero at start and forever (no token
// selects them and the loss masks their logits), and are left out of checkpoints.
//
// Tensor parallelism (Megatron): a table built for tp rank r of T holds, of each parameter
// declared with a TpCut, the r-th of T equal parts along the cut's dimension, of each of its
// `groups` (c_attn's q, k and v: each rank takes its heads' columns of all three). Block
// partitioning (TpRank::grid > 1) cuts along up to two dimensions, one per axis of the grid.
// Everything is declared by its global shape; the table stores the local part and maps every local
// element to its global index (init values, checkpoint offsets), so a tensor-parallel rank
// initialises, writes and reads exactly its elements of the one logical model.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace parti::model {

enum class Init { normal, residual, zeros, ones };

// This process's place in its tensor-parallel group. Megatron's 1D partitioning (grid 1) cuts a
// layer's features over all `size` ranks. Block partitioning (issue #21, grid q > 1) arranges
// the size = q^2 ranks as a q x q grid, index = row q + col: a weight matrix is cut by its
// input features over the grid's rows and by its output features over its columns, and the
// activations between sublayers by samples over rows and by width over columns.
struct TpRank {
  int index = 0;
  int size = 1;
  int grid = 1;  // q: the side of the grid (1: the 1D cut)
  bool block() const { return grid > 1; }
  int row() const { return block() ? index / grid : 0; }
  int col() const { return block() ? index % grid : index; }
  // How many parts a layer's output features (heads, hidden units) are cut into.
  int feature_parts() const { return block() ? grid : size; }
  // How many parts the residual stream's width is cut into between sublayers.
  int width_parts() const { return block() ? grid : 1; }
};

// How a parameter is split. 1D: along `dim` over the tp group (-1: whole on every rank). Block
// partitioning: along `col_dim` over the grid's columns and `row_dim` over its rows (-1: whole
// along that axis of the grid). `groups`: the output features' cut (dim in 1D, col_dim on the
// grid) takes each of that many equal groups apart (c_attn's q, k and v).
struct TpCut {
  int dim = -1;
  int groups = 1;
  int col_dim = -1;
  int row_dim = -1;
};

// One cut of a stored part: along `dim`, this rank's `part` of `parts` of each of `groups`.
struct Split {
  int dim = -1;
  int groups = 1;
  int part = 0;
  int parts = 1;
};

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;  // this rank's part, as stored (wte: its rows of the Vp)
  int64_t logical_rows;        // of shape[0], the rows holding logical data (wte: < V)
  Init init;
  bool decay;         // AdamW weight decay applies (matrices, not biases or norms)
  size_t offset = 0;  // into the flat buffers, in elements
  size_t numel = 0;
  std::vector<int64_t> global_shape;  // the logical tensor, as in checkpoints (wte: V rows)
  TpCut cut;                          // as declared
  // The cuts in effect: [0] 1D's or the grid's columns', [1] the grid's rows'.
  std::array<Split, 2> splits;
  // This rank writes (checkpoints) and counts (gradient norm) its part: every rank of a part
  // holds the same values, and one of them, the first along each axis that does not cut the
  // parameter, stands for it.
  bool owner = true;
  size_t logical_numel() const;
  bool split() const { return splits[0].parts > 1 || splits[1].parts > 1; }
  // Which of the parameter's parts this rank holds (0 .. parts - 1 over both cuts).
  int part_index() const { return splits[1].part * splits[0].parts + splits[0].part; }
  // The global flat index (in global_shape) of local logical element e.
  size_t global_index(size_t e) const;
  // Calls run(global index, local element, count) for the contiguous global runs that local
  // logical elements [first, first + count) form.
  template <typename Run>
  void for_each_run(size_t first, size_t count, Run&& run) const {
    while (count > 0) {
      const size_t n = std::min(count, run_length(first));
      run(global_index(first), first, n);
      first += n;
      count -= n;
    }
  }

 private:
  size_t run_length(size_t e) const;  // elements from e on that stay contiguous globally
};

class ParamTable {
 public:
  explicit ParamTable(TpRank tp = {}) : tp_(tp) {}
  // Registers a parameter by its global shape (as stored: wte with Vp rows; logical_rows = V,
  // or -1: all) and how tensor parallelism cuts it; returns its index (a ParamRef for the module
  // that owns it). The table keeps this rank's part.
  int add(std::string name, std::vector<int64_t> shape, Init init, bool decay,
          int64_t logical_rows = -1, TpCut cut = {});
  const TpRank& tp() const { return tp_; }
  // A new module slot in the activation record.
  int add_module() { return modules_++; }

  const std::vector<ParamSpec>& specs() const { return specs_; }
  const ParamSpec& spec(int index) const { return specs_.at(static_cast<size_t>(index)); }
  int find(const std::string& name) const;  // -1 if absent
  size_t total() const { return total_; }
  int modules() const { return modules_; }

  // Fills buffer (total()) with the initial values for `seed`; L scales residual projections.
  template <typename T>
  void init_values(T* buffer, uint64_t seed, int layers) const;
  // The same for the flat range [begin, end) only, into out (end - begin): a ZeRO-3 rank makes
  // its shard without ever holding the whole model.
  template <typename T>
  void init_range(T* out, size_t begin, size_t end, uint64_t seed, int layers) const;

 private:
  TpRank tp_;
  std::vector<ParamSpec> specs_;
  std::unordered_map<std::string, int> index_;  // name -> position in specs_ (set-up stays linear)
  size_t total_ = 0;
  int modules_ = 0;
};

}  // namespace parti::model
