#include "parti/train/agree.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "parti/core/check.h"
#include "parti/data/token_file.h"

namespace parti::train {
namespace {

constexpr size_t kWords = 4;         // a 64-bit hash as uint16 words
constexpr size_t kValueChars = 160;  // of a differing value, shown

// (name, value) of every field, nested objects flattened one level ("model.layers").
std::vector<std::pair<std::string, std::string>> fields(const nlohmann::ordered_json& resolved) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : resolved.items()) {
    if (value.is_object()) {
      for (const auto& [sub, v] : value.items()) {
        out.emplace_back(key + "." + sub, v.dump());
      }
    } else {
      out.emplace_back(key, value.dump());
    }
  }
  return out;
}

uint64_t fnv1a(const std::string& text) { return data::fnv1a64(text.data(), text.size()); }

std::string flag_of(const std::string& field) {  // "model.kv_heads" -> "--kv-heads"
  std::string name = field.substr(field.rfind('.') == std::string::npos ? 0 : field.rfind('.') + 1);
  std::replace(name.begin(), name.end(), '_', '-');
  return "--" + name;
}

}  // namespace

void check_ranks_agree(const nlohmann::ordered_json& resolved, dist::ProcessGroup& world) {
  const int size = world.size();
  if (size == 1) {
    return;
  }
  const auto mine = fields(resolved);
  // Field count first, then each field's name and value hashed, as 16-bit words.
  std::vector<uint16_t> words((mine.size() + 1) * kWords);
  const auto put = [&](size_t slot, uint64_t h) {
    for (size_t w = 0; w < kWords; ++w) {
      words[slot * kWords + w] = static_cast<uint16_t>(h >> (16 * w));
    }
  };
  put(0, mine.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    put(i + 1, fnv1a(mine[i].first + "=" + mine[i].second));
  }
  std::vector<uint16_t> all(words.size() * static_cast<size_t>(size));
  world.iall_gather(words.data(), all.data(), words.size()).wait();
  // The first rank differing from rank 0, and its first differing slot (0: the field count).
  int rank = -1;
  size_t slot = 0;
  for (int r = 1; r < size && rank < 0; ++r) {
    for (size_t s = 0; s < words.size() && rank < 0; ++s) {
      if (all[static_cast<size_t>(r) * words.size() + s] != all[s]) {
        rank = r;
        slot = s / kWords;
      }
    }
  }
  if (rank < 0) {
    return;
  }
  PARTI_CHECK(slot > 0, ConfigError, "rank ", rank, " and rank 0 run different builds of parti ",
              "(their configurations have different fields)");
  const auto& [name, value] = mine[slot - 1];
  std::vector<uint16_t> text(kValueChars, 0), texts(kValueChars * static_cast<size_t>(size));
  for (size_t c = 0; c < std::min(kValueChars - 1, value.size()); ++c) {
    text[c] = static_cast<unsigned char>(value[c]);
  }
  world.iall_gather(text.data(), texts.data(), kValueChars).wait();
  if (world.rank() != rank) {
    // The differing rank fails and ends the job; building a different model meanwhile could
    // only add noise (or a crash) to its message.
    std::this_thread::sleep_for(std::chrono::hours(1));
  }
  std::string theirs;
  for (size_t c = 0; c < kValueChars && texts[c] != 0; ++c) {
    theirs += static_cast<char>(texts[c]);
  }
  throw ConfigError(str_cat("the ranks were started with different flags: ", flag_of(name), " (",
                            name, ") is ", value, " here and ", theirs,
                            " on rank 0; every rank must get the same flags"));
}

void agree_on_checks(const std::function<void()>& checks, dist::ProcessGroup& world) {
  std::exception_ptr failed;
  try {
    checks();
  } catch (...) {
    failed = std::current_exception();
  }
  if (world.size() == 1) {
    if (failed) std::rethrow_exception(failed);
    return;
  }
  std::string message;
  int code = 0;
  if (failed) {
    try {
      std::rethrow_exception(failed);
    } catch (const ConfigError& e) {
      message = e.what();
      code = kExitInput;
    } catch (const DataError& e) {
      message = e.what();
      code = kExitInput;
    } catch (const CheckpointError& e) {
      message = e.what();
      code = kExitInput;
    } catch (const std::exception& e) {
      message = e.what();
      code = kExitError;
    }
  }
  // The lowest failing rank and its code: the maximum of -(rank * 256 + code).
  constexpr int64_t kCodes = 256;
  const int64_t mine = code != 0 ? world.rank() * kCodes + code : world.size() * kCodes;
  double key = -static_cast<double>(mine);
  world.all_reduce(&key, 1, dist::ReduceOp::max);
  const auto first = static_cast<int64_t>(-key);
  if (first >= world.size() * kCodes) return;
  throw AgreedError(message, static_cast<int>(first % kCodes), world.rank() == first / kCodes);
}

}  // namespace parti::train
