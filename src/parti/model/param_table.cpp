#include "parti/model/param_table.h"

#include <algorithm>
#include <cmath>

#include "parti/core/check.h"
#include "parti/core/rng.h"

namespace parti::model {
namespace {

constexpr double kInitStd = 0.02;
constexpr size_t kAlignElements = 16;  // every slice starts on a 64-byte boundary (float)

}  // namespace

size_t ParamSpec::logical_numel() const {
  size_t row = shape.empty() || shape[0] == 0 ? 0 : numel / static_cast<size_t>(shape[0]);
  return row * static_cast<size_t>(logical_rows);
}

int ParamTable::add(std::string name, std::vector<int64_t> shape, Init init, bool decay,
                    int64_t logical_rows) {
  PARTI_ASSERT(find(name) < 0, "parameter ", name, " declared twice");
  size_t numel = 1;
  for (int64_t d : shape) {
    numel *= static_cast<size_t>(d);
  }
  ParamSpec spec{std::move(name), std::move(shape), 0, init, decay, total_, numel};
  spec.logical_rows = logical_rows >= 0 ? logical_rows : spec.shape.at(0);
  total_ += (numel + kAlignElements - 1) / kAlignElements * kAlignElements;
  specs_.push_back(std::move(spec));
  return static_cast<int>(specs_.size()) - 1;
}

int ParamTable::find(const std::string& name) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
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
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
      dst[i] =
          static_cast<T>(std * core::random_normal(seed, stream, first + static_cast<uint64_t>(i)));
    }
  }
}

template void ParamTable::init_values<float>(float*, uint64_t, int) const;
template void ParamTable::init_values<double>(double*, uint64_t, int) const;
template void ParamTable::init_range<float>(float*, size_t, size_t, uint64_t, int) const;
template void ParamTable::init_range<double>(double*, size_t, size_t, uint64_t, int) const;

}  // namespace parti::model
