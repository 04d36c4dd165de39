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
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace parti::model {

enum class Init { normal, residual, zeros, ones };

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;  // as stored (wte: Vp rows)
  int64_t logical_rows;        // rows in checkpoints (wte: V); shape[0] otherwise
  Init init;
  bool decay;         // AdamW weight decay applies (matrices, not biases or norms)
  size_t offset = 0;  // into the flat buffers, in elements
  size_t numel = 0;
  size_t logical_numel() const;
};

class ParamTable {
 public:
  // Registers a parameter; returns its index (a ParamRef for the module that owns it).
  int add(std::string name, std::vector<int64_t> shape, Init init, bool decay,
          int64_t logical_rows = -1);
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
  std::vector<ParamSpec> specs_;
  size_t total_ = 0;
  int modules_ = 0;
};

}  // namespace parti::model
