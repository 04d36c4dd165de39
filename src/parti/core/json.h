// Integers read from JSON files, strictly. nlohmann's get<int>() converts whatever number it
// finds with a static_cast: a float outside the type's range is undefined behaviour, 3.7 becomes
// 3, a large integer wraps and `true` becomes 1. json_int takes an integer, or a float with an
// integral value, that fits the type, and otherwise throws nlohmann's own type_error (302) or
// out_of_range (406), so that the caller's handler, which names the file, reports it.
#pragma once

#include <cmath>
#include <concepts>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "parti/core/check.h"

namespace parti {

template <std::integral T>
T json_int(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (std::in_range<T>(u)) {
      return static_cast<T>(u);
    }
  } else if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (std::in_range<T>(i)) {
      return static_cast<T>(i);
    }
  } else if (v.is_number_float()) {
    // [lo, hi): exact in a double for every integral type up to 64 bits.
    const double d = v.get<double>();
    const double hi = std::ldexp(1.0, std::numeric_limits<T>::digits);
    const double lo = std::is_signed_v<T> ? -hi : 0.0;
    if (std::isfinite(d) && d == std::trunc(d) && d >= lo && d < hi) {
      return static_cast<T>(d);
    }
  } else {
    throw nlohmann::json::type_error::create(
        302, str_cat("type must be an integer, but is ", v.type_name()), &v);
  }
  throw nlohmann::json::out_of_range::create(406,
                                             str_cat("number ", v.dump(), " is not an integer of ",
                                                     std::numeric_limits<T>::digits, " bits"),
                                             &v);
}

// obj[key] as json_int, or `fallback` when obj has no such key.
template <std::integral T>
T json_int(const nlohmann::json& obj, const char* key, T fallback) {
  return obj.contains(key) ? json_int<T>(obj.at(key)) : fallback;
}

// An array of integers.
template <std::integral T>
std::vector<T> json_ints(const nlohmann::json& v) {
  if (!v.is_array()) {
    throw nlohmann::json::type_error::create(
        302, str_cat("type must be an array of integers, but is ", v.type_name()), &v);
  }
  std::vector<T> out;
  out.reserve(v.size());
  for (const nlohmann::json& e : v) {
    out.push_back(json_int<T>(e));
  }
  return out;
}

}  // namespace parti
