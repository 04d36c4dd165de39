#include "parti/model/param_table.h"

#include <algorithm>
#include <cmath>

#include "parti/core/check.h"
#include "parti/core/rng.h"

namespace parti::model {
namespace {

constexpr double kInitStd = 0.02;
constexpr size_t kAlignElements = 16;  // every slice starts on a 64-byte boundary (float)

// Element e of a tensor of `shape` cut along `dim` as (outer, j, inner): e = (o n + j) inner + k.
struct Coord {
  size_t outer, j, inner_index, n, inner;
};
Coord coord_of(const std::vector<int64_t>& shape, int dim, size_t e) {
  size_t inner = 1;
  for (size_t d = static_cast<size_t>(dim) + 1; d < shape.size(); ++d) {
    inner *= static_cast<size_t>(shape[d]);
  }
  const auto n = static_cast<size_t>(shape[static_cast<size_t>(dim)]);
  return {e / (n * inner), e / inner % n, e % inner, n, inner};
}

}  // namespace

size_t ParamSpec::logical_numel() const {
  size_t row = shape.empty() || shape[0] == 0 ? 0 : numel / static_cast<size_t>(shape[0]);
  return row * static_cast<size_t>(logical_rows);
}

size_t ParamSpec::global_index(size_t e) const {
  if (!split()) {
    return e;
  }
  const Coord c = coord_of(shape, cut.dim, e);
  const size_t m = c.n / static_cast<size_t>(cut.groups);  // a group's part here
  const size_t group = c.j / m;
  const size_t j = group * m * static_cast<size_t>(parts) + static_cast<size_t>(part) * m + c.j % m;
  return (c.outer * c.n * static_cast<size_t>(parts) + j) * c.inner + c.inner_index;
}

size_t ParamSpec::run_length(size_t e) const {
  if (!split()) {
    return numel - e;
  }
  const Coord c = coord_of(shape, cut.dim, e);
  const size_t m = c.n / static_cast<size_t>(cut.groups);
  if (cut.dim == 0 && cut.groups == 1) {
    return numel - e;  // whole rows of the global tensor
  }
  return (m - c.j % m) * c.inner - c.inner_index;
}

int ParamTable::add(std::string name, std::vector<int64_t> shape, Init init, bool decay,
                    int64_t logical_rows, TpCut cut) {
  PARTI_ASSERT(find(name) < 0, "parameter ", name, " declared twice");
  ParamSpec spec;
  spec.name = std::move(name);
  spec.init = init;
  spec.decay = decay;
  spec.offset = total_;
  spec.cut = cut;
  spec.global_shape = shape;
  spec.global_shape.at(0) = logical_rows >= 0 ? logical_rows : shape.at(0);
  if (cut.dim >= 0 && tp_.size > 1) {
    auto& d = shape.at(static_cast<size_t>(cut.dim));
    PARTI_ASSERT(d % (static_cast<int64_t>(cut.groups) * tp_.size) == 0, "parameter ", spec.name,
                 ": dimension ", cut.dim, " of ", d, " does not split into ", cut.groups,
                 " groups over ", tp_.size, " tensor-parallel ranks");
    d /= tp_.size;
    spec.part = tp_.index;
    spec.parts = tp_.size;
  }
  spec.shape = std::move(shape);
  // Logical rows here: all, except where the global logical rows end inside or before ours
  // (wte's padding rows sit at the end of the last ranks' parts).
  const int64_t rows = spec.shape.at(0);
  const int64_t first_row = spec.split() && cut.dim == 0 ? rows * spec.part : 0;
  spec.logical_rows = std::clamp<int64_t>(spec.global_shape[0] - first_row, 0, rows);
  PARTI_ASSERT(spec.logical_rows == rows || (cut.dim <= 0 && cut.groups == 1), "parameter ",
               spec.name, ": padding rows only for a whole or row-cut tensor");
  size_t numel = 1;
  for (int64_t d : spec.shape) {
    numel *= static_cast<size_t>(d);
  }
  spec.numel = numel;
  total_ += (numel + kAlignElements - 1) / kAlignElements * kAlignElements;
  index_.emplace(spec.name, static_cast<int>(specs_.size()));
  specs_.push_back(std::move(spec));
  return static_cast<int>(specs_.size()) - 1;
}

int ParamTable::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

template <typename T>
void ParamTable::init_values(T* buffer, uint64_t seed, int layers) const {
  init_range(buffer, 0, total_, seed, layers);
}

template <typename T>
void ParamTable::init_range(T* out, size_t begin, size_t end, uint64_t seed, int layers) const {
  PARTI_ASSERT(begin <= end && end <= total_, "init_range [", begin, ", ", end, ") of ", total_);
  for (size_t i = begin; i < end; ++i) {
    out[i - begin] = T(0);  // alignment gaps and padding rows
  }
  for (const ParamSpec& spec : specs_) {
    // The part of the parameter's logical elements inside [begin, end).
    const size_t lo = std::max(begin, spec.offset);
    const size_t hi = std::min(end, spec.offset + spec.logical_numel());
    if (lo >= hi) {
      continue;
    }
    T* dst = out + (lo - begin);
    const size_t first = lo - spec.offset;
    const size_t count = hi - lo;
    const uint64_t stream = core::name_stream(spec.name);
    double std = kInitStd;
    switch (spec.init) {
      case Init::zeros:
        continue;
      case Init::ones:
        for (size_t i = 0; i < count; ++i) {
          dst[i] = T(1);
        }
        continue;
      case Init::residual:
        std = kInitStd / std::sqrt(2.0 * layers);
        break;
      case Init::normal:
        break;
    }
      // Each element from its global index: a tensor-parallel part equals that slice of the whole.
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
      const size_t global = spec.global_index(first + static_cast<size_t>(i));
      dst[i] = static_cast<T>(std * core::random_normal(seed, stream, global));
    }
  }
}

template void ParamTable::init_values<float>(float*, uint64_t, int) const;
template void ParamTable::init_values<double>(double*, uint64_t, int) const;
template void ParamTable::init_range<float>(float*, size_t, size_t, uint64_t, int) const;
template void ParamTable::init_range<double>(double*, size_t, size_t, uint64_t, int) const;

}  // namespace parti::model
