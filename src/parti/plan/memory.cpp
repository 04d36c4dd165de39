#include "parti/plan/memory.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "parti/core/check.h"
#include "parti/model/registry.h"
#include "parti/parallel/pipeline/schedule.h"
#include "parti/parallel/pipeline/stage.h"
#include "parti/plan/activations.h"

namespace parti::plan {
namespace {

namespace pipeline = parallel::pipeline;

constexpr double kAlign = 16;  // a flat-buffer slice starts on 64 bytes (16 floats)

double aligned(double elements) { return std::ceil(elements / kAlign) * kAlign; }

// Flat-buffer units of one stage (ParamTable order): the embedding (the first stage; tied, also
// its copy on the last), learned positions (the first stage, GPT-2), its blocks (all of one
// size), the final norm and an untied output projection (the head). Elements, aligned as the
// table does.
struct Units {
  double wte = 0, wpe = 0;  // 0: not here
  double block = 0;
  int blocks = 0;
  double norm = 0;   // 0: not here
  double table = 0;  // one vocabulary table, when ZeRO gathers it whole (Llama); 0: by pieces
  int tables = 0;    // how many such tables are here (embedding, untied head)
  double total() const { return wte + wpe + blocks * block + norm; }
  // The largest unit that is not a vocabulary table (GPT-2's wte comes by pieces of this size).
  double largest_other() const { return std::max({block, norm, wpe}); }
  // ZeRO-3's gathered parameters: the unit in use and the one prefetched, in buffers the pool
  // reuses within a size class (parallel/data): two tables when both are here, two of the
  // largest other unit (GPT-2's wte comes by pieces of that size), and the small units (norm,
  // positions) in buffers of their own.
  double gathered() const {
    const double other = largest_other();
    const int others = std::min(2, blocks + (table == 0 && wte > 0 ? 2 : 0));
    return std::min(tables, 2) * table + others * other + (norm < other / 2 ? norm : 0) +
           (wpe < other / 2 ? wpe : 0);
  }
  // ZeRO-2/3's staged gradients: the unit in backward and the one whose reduce-scatter is in
  // flight, in buffers the pool reuses within a size class (parallel/data): two of the largest
  // other unit and the small units' own, plus one table when tables are gathered whole (blocks
  // stand between the head and the embedding in backward, so the embedding finds the head's
  // buffer free).
  double staged() const {
    const double other = largest_other();
    return table + 2 * other + (norm < other / 2 ? norm : 0) + (wpe < other / 2 ? wpe : 0);
  }
  // ShardLayout's shard: each unit's block of ceil(size / (ranks granule)) granules.
  double shard(int ranks, double C) const {
    const auto cut = [&](double size, double granule) {
      return std::ceil(size / (ranks * granule)) * granule;
    };
    return (wte > 0 ? cut(wte, C) : 0) + (wpe > 0 ? cut(wpe, 1) : 0) + blocks * cut(block, 1) +
           (norm > 0 ? cut(norm, 1) : 0);
  }
};

// One layer's parameters on a tp rank: its linear layers' parts and its two norms.
double layer_elements(const model::Footprint& fp, double C, double t) {
  double sum = 2.0 * fp.norm_tensors * aligned(C);
  for (const model::Footprint::Linear& f : fp.layer) {
    sum += aligned(f.in * f.out / t) + (f.bias ? aligned(f.column ? f.out / t : f.out) : 0);
  }
  return sum;
}

Units stage_units(const Workload& w, const Layout& l, const std::vector<int>& split, int stage) {
  const double C = w.model.dim, t = l.tp;
  const model::Footprint fp = model::footprint(w.model);
  const int chunks = static_cast<int>(split.size());
  bool embedding = false, head = false;
  Units u;
  for (int c = stage; c < chunks; c += l.pp) {
    embedding = embedding || c == 0;
    head = head || c == chunks - 1;
    u.blocks += split[static_cast<size_t>(c)];
  }
  const double table = aligned(w.model.padded_vocab() / t * C);
  // The embedding; on the last stage the output projection (tied: a copy, unless it is here).
  u.wte = (embedding ? table : 0) + (head && !(fp.tied && embedding) ? table : 0);
  if (!fp.embedding_by_pieces || l.grid() > 1) {  // a grid holds a q^2-th: never by pieces
    u.table = table;
    u.tables = static_cast<int>(std::round(u.wte / table));
  }
  // On a grid the positions and norms are cut by width over its columns too.
  const double width = C / l.grid();
  u.wpe = embedding && fp.positions ? aligned(w.model.seq_len * width) : 0;
  u.block = layer_elements(fp, C, t);
  u.norm = head ? fp.norm_tensors * aligned(width) : 0;
  return u;
}

}  // namespace

Precision precision_of(const std::string& name) {
  if (name == "fp32") {
    return {};
  }
  PARTI_CHECK(name == "bf16", ConfigError, "--precision ", name, ": expected fp32 or bf16");
  return {"bf16", 2, 4, 4, 8, 2};
}

std::vector<std::string> check_layout(const Workload& w, const Layout& l) {
  return parallel::validate(l, w.model, w.global_batch);
}

std::vector<int> chunk_layers(const Workload& w, const Layout& l) {
  return pipeline::split_layers(w.model, l.pp * l.virtual_stages, l.pp_layers);
}

int in_flight(const std::string& schedule, int P, int M, int V, int s) {
  if (P == 1) {
    return 1;
  }
  if (schedule == "gpipe") {
    return M;
  }
  if (schedule == "interleaved") {
    // Megatron's warm-up: (P - s - 1) 2 + (V - 1) P forwards before the first backward, which
    // comes after one more; never more than all M V.
    return std::min(M * V, (P - s - 1) * 2 + (V - 1) * P + 1);
  }
  return std::min(M, P - s);  // 1f1b, zb (W keeps 1F1B's bound)
}

std::vector<Memory> stage_memory(const Workload& w, const Layout& l, const Precision& p,
                                 bool exact) {
  const std::vector<int> split = l.pp > 1 ? chunk_layers(w, l) : std::vector<int>{w.model.layers};
  const Shapes shapes(w, l, p);
  std::vector<Memory> out;
  for (int s = 0; s < l.pp; ++s) {
    if (!exact && s > 0 && s < l.pp - 1) {
      continue;  // the closed forms: the first stage (most in flight) and the last (the head)
    }
    const Units units = stage_units(w, l, split, s);
    const double total = units.total(), shard = units.shard(l.grad_ranks(), w.model.dim);
    const int zero = l.grad_ranks() > 1 ? l.zero : 0;
    Memory m;
    // Parameters: whole (stages 0-2) or the shard (3) plus the gathered units (the one in use
    // and the one prefetched; the embeddings come by pieces of the largest unit's size).
    m.params = (zero <= 2 ? total : shard + units.gathered()) * p.param;
    m.params += (zero >= 1 ? shard : total) * p.master;
    if (master_only(w, p)) {
      // The fp32 weights are the master, whole below ZeRO-3; ZeRO-3 gathers its units cast.
      m.params = zero <= 2 ? total * p.master : shard * p.master + units.gathered() * p.param;
    }
    // Gradients: whole (0-1) or the shard (2-3) plus the staged units (the one in backward and
    // the one whose reduce-scatter is in flight; the pool reuses their buffers).
    m.grads = (zero <= 1 ? total : shard + units.staged()) * p.grad;
    m.optim = (zero >= 1 ? shard : total) * p.moments;
    m.activations = activation_elements(shapes, w, l, split, s, exact) * p.activation;
    m.buffers = shapes.workspace() * p.activation;
    out.push_back(m);
  }
  return out;
}

std::vector<double> stage_parameters(const Workload& w, const Layout& l) {
  const std::vector<int> split = l.pp > 1 ? chunk_layers(w, l) : std::vector<int>{w.model.layers};
  std::vector<double> out;
  for (int s = 0; s < l.pp; ++s) {
    out.push_back(stage_units(w, l, split, s).total());
  }
  return out;
}

GradientUnits gradient_units(const Workload& w, const Layout& l, int stage) {
  const std::vector<int> split = l.pp > 1 ? chunk_layers(w, l) : std::vector<int>{w.model.layers};
  const Units u = stage_units(w, l, split, stage);
  const bool tied = model::footprint(w.model).tied;
  // An untied head's table is final when the head's backward ends; the embedding's (or a tied
  // pair's) when the lookup's does.
  const bool head = u.norm > 0;  // the final norm is on the stage that holds the head
  const double head_table = !tied && head ? (stage == 0 ? u.wte / 2 : u.wte) : 0;
  return {u.norm + head_table, u.block, u.wte - head_table + u.wpe, u.blocks};
}

Memory peak_memory(const std::vector<Memory>& stages) {
  Memory best;
  for (const Memory& m : stages) {
    if (m.total() > best.total()) {
      best = m;
    }
  }
  return best;
}

}  // namespace parti::plan
