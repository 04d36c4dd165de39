#include "parti/model/param_table.h"

#include <algorithm>
#include <cmath>

#include "parti/core/check.h"
#include "parti/core/rng.h"

namespace parti::model {
namespace {

constexpr double kInitStd = 0.02;
constexpr size_t kAlignElements = 16;  // every slice starts on a 64-byte boundary (float)

// Where local index j along a dimension of local length n lies in the global one, for a split
// into `parts` of each of its `groups`.
size_t global_along(const Split& s, size_t j, size_t n) {
  const size_t m = n / static_cast<size_t>(s.groups);  // a group's part here
  const size_t group = j / m;
  return group * m * static_cast<size_t>(s.parts) + static_cast<size_t>(s.part) * m + j % m;
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
  // Local coordinates from the last dimension up, each mapped to its global place.
  size_t global = 0, stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    const auto n = static_cast<size_t>(shape[d]);
    size_t j = e % n, scale = 1;
    e /= n;
    for (const Split& s : splits) {
      if (s.dim == static_cast<int>(d) && s.parts > 1) {
        j = global_along(s, j, n);
        scale = static_cast<size_t>(s.parts);
      }
    }
    global += j * stride;
    stride *= n * scale;
  }
  return global;
}

size_t ParamSpec::run_length(size_t e) const {
  // The innermost cut dimension ends a run at each of its group parts' ends; a tensor cut only
  // by whole rows is one run.
  const Split* last = nullptr;
  for (const Split& s : splits) {
    if (s.parts > 1 && (last == nullptr || s.dim > last->dim)) {
      last = &s;
    }
  }
  if (last == nullptr || (last->dim == 0 && last->groups == 1)) {
    return numel - e;
  }
  size_t inner = 1;
  for (size_t d = static_cast<size_t>(last->dim) + 1; d < shape.size(); ++d) {
    inner *= static_cast<size_t>(shape[d]);
  }
  const auto n = static_cast<size_t>(shape[static_cast<size_t>(last->dim)]);
  const size_t m = n / static_cast<size_t>(last->groups);
  const size_t j = e / inner % n;
  return (m - j % m) * inner - e % inner;
}

namespace {

// The cuts a table for `tp` makes of a parameter declared with `cut`, and whether this rank
// owns its part.
std::array<Split, 2> splits_of(const TpCut& cut, const TpRank& tp, bool* owner) {
  std::array<Split, 2> out;
  if (tp.block()) {
    if (cut.col_dim >= 0) {
      out[0] = {cut.col_dim, cut.groups, tp.col(), tp.grid};
    }
    if (cut.row_dim >= 0) {
      out[1] = {cut.row_dim, 1, tp.row(), tp.grid};
    }
    *owner = (cut.col_dim >= 0 || tp.col() == 0) && (cut.row_dim >= 0 || tp.row() == 0);
  } else {
    if (cut.dim >= 0 && tp.size > 1) {
      out[0] = {cut.dim, cut.groups, tp.index, tp.size};
    }
    *owner = out[0].parts > 1 || tp.index == 0;
  }
  return out;
}

}  // namespace

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
  spec.splits = splits_of(cut, tp_, &spec.owner);
  int64_t first_row = 0;
  for (const Split& s : spec.splits) {
    if (s.parts == 1) {
      continue;
    }
    auto& d = shape.at(static_cast<size_t>(s.dim));
    PARTI_ASSERT(d % (static_cast<int64_t>(s.groups) * s.parts) == 0, "parameter ", spec.name,
                 ": dimension ", s.dim, " of ", d, " does not split into ", s.groups,
                 " groups over ", s.parts, " tensor-parallel ranks");
    d /= s.parts;
    if (s.dim == 0) {
      first_row = d * s.part;
    }
  }
  spec.shape = std::move(shape);
  // Logical rows here: all, except where the global logical rows end inside or before ours
  // (wte's padding rows sit at the end of the last ranks' parts).
  const int64_t rows = spec.shape.at(0);
  spec.logical_rows = std::clamp<int64_t>(spec.global_shape[0] - first_row, 0, rows);
  // Padding rows sit at the end of a part's rows: a cut along the rows must not be grouped.
  const bool whole_rows = (spec.splits[0].dim != 0 || spec.splits[0].groups == 1) &&
                          (spec.splits[1].dim != 0 || spec.splits[1].groups == 1);
  PARTI_ASSERT(spec.logical_rows == rows || whole_rows, "parameter ", spec.name,
               ": padding rows only for a tensor whose rows are cut in one group");
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
