// For the tests that hold a parallel layer's part to the plain layer in double, one executable
// under mpirun each (no GoogleTest: each counts its failures and exits non-zero itself): the
// failure count, one model's buffers and a pass over them, and the comparison of a part's
// gradients with the whole's by global index. Inputs and the relative error are gradcheck.h's.
#pragma once

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "parti/core/arena.h"
#include "parti/core/rng.h"
#include "parti/model/module.h"
#include "support/gradcheck.h"

namespace parti::test {

inline int failures = 0;
inline int world_rank = 0;

inline void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "rank %d FAIL: %s\n", world_rank, what.c_str());
  }
}

// One model's buffers (initialised from the seed, biases and norms nudged off zero and one so
// that their paths are exercised too) and a pass over them.
struct Run {
  explicit Run(const model::ParamTable& t)
      : table(t),
        params(t.total()),
        grads(t.total(), 0.0),
        record(std::make_unique<model::ActivationRecord<double>>(t.modules())) {
    t.init_values(params.data(), 5, 2);
    for (const model::ParamSpec& s : t.specs()) {
      for (size_t e = 0; e < s.logical_numel(); ++e) {
        params[s.offset + e] +=
            0.01 * core::random_normal(9, core::name_stream(s.name), s.global_index(e));
      }
    }
  }
  // With `context` (this run's own, or null: none).
  model::Pass<double> pass(int B, int T, const parallel::tensor::TensorParallel* tp) {
    model::Pass<double> p{B, T, table, params.data(), grads.data(), arena, *record};
    p.tp = tp;
    return p;
  }
  parallel::tensor::TensorParallel context;
  const model::ParamTable& table;
  std::vector<double> params, grads;
  core::Arena arena;
  std::unique_ptr<model::ActivationRecord<double>> record;
};

// Every parameter gradient of the part against the whole's, element by global index.
inline void compare_grads(const Run& whole, const Run& part, const std::string& what) {
  for (const model::ParamSpec& s : part.table.specs()) {
    const model::ParamSpec& w = whole.table.spec(whole.table.find(s.name));
    std::vector<double> a(s.logical_numel()), b(s.logical_numel());
    for (size_t e = 0; e < s.logical_numel(); ++e) {
      a[e] = whole.grads[w.offset + s.global_index(e)];
      b[e] = part.grads[s.offset + e];
    }
    const double r = relative_error(b, a);
    expect(r <= 1e-10, what + ": gradient of " + s.name + " differs by " + std::to_string(r));
  }
}

}  // namespace parti::test
