// The keys and values a generation has computed, per attention module, so each new token costs
// one position instead of the whole window (issue #23). A pass with pass.kv set runs its Tn tokens
// (one sequence, B = 1) at positions length() .. length() + Tn - 1: each attention module appends
// their keys and values to its slots and attends over every cached position; nothing is saved
// for backward. The caller sets pass.positions to those positions and calls advance(Tn) once
// the pass is done. A module's slots hold capacity() positions of its width (GPT-2: C; Llama:
// its key/value heads' KV hd), made on first use.
#pragma once

#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include "parti/core/check.h"
#include "parti/model/module.h"

namespace parti::model {

template <typename T>
class KvCache {
 public:
  explicit KvCache(int capacity) : capacity_(capacity) {}
  int capacity() const { return capacity_; }
  int length() const { return length_; }
  // Module `module`'s keys and values, capacity() x width each.
  std::pair<T*, T*> slots(int module, int width) {
    Slots& s = slots_[module];
    const size_t n = static_cast<size_t>(capacity_) * static_cast<size_t>(width);
    if (s.keys.empty()) {
      s.keys.resize(n);
      s.values.resize(n);
    }
    PARTI_ASSERT(s.keys.size() == n, "module ", module, " changed its cache width");
    return {s.keys.data(), s.values.data()};
  }
  // Checks that n more positions fit (before a pass).
  void reserve(int n) const {
    PARTI_ASSERT(length_ + n <= capacity_, "the key/value cache holds ", capacity_,
                 " positions: ", length_, " + ", n, " do not fit");
  }
  void advance(int n) {
    reserve(n);
    length_ += n;
  }
  void clear() { length_ = 0; }

 private:
  struct Slots {
    std::vector<T> keys, values;
  };
  int capacity_;
  int length_ = 0;
  std::map<int, Slots> slots_;
};

// An attention module's start of a cached pass: the first position of its new tokens, once
// checked that they fit and that the pass is one sequence on one process.
template <typename T>
int cached_start(const Pass<T>& pass) {
  PARTI_ASSERT(pass.B == 1 && pass.tp == nullptr && pass.cp == nullptr,
               "the key/value cache runs one sequence on one process");
  pass.kv->reserve(pass.Tn);
  return pass.kv->length();
}

}  // namespace parti::model
