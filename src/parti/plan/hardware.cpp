#include "parti/plan/hardware.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "parti/core/check.h"
#include "parti/core/json.h"

namespace parti::plan {
namespace {

namespace fs = std::filesystem;

std::string hardware_dir() {
  const char* env = std::getenv("PARTI_CONFIG_DIR");
  return std::string(env != nullptr ? env : PARTI_CONFIG_DIR) + "/hardware";
}

double rate_of(const std::map<std::string, double>& table, const std::string& dtype,
               const char* what) {
  auto it = table.find(dtype);
  PARTI_CHECK(it != table.end() && it->second > 0, ConfigError, "the hardware profile has no ",
              what, " rate for ", dtype);
  return it->second * 1e12;
}

}  // namespace

double Hardware::gemm_flops(double m, double n, double k, const std::string& dtype) const {
  const double h = gemm_half_dim;
  return peak_flops(dtype) * gemm_efficiency / (1.0 + h / m + h / n + h / k);
}

double Hardware::attention_flops(const std::string& dtype) const {
  return rate_of(attention_tflops, dtype, "attention");
}

double Hardware::flash_attention_flops(const std::string& dtype) const {
  if (flash_attention_tflops.empty()) {
    return attention_flops(dtype);
  }
  return rate_of(flash_attention_tflops, dtype, "flash_attention");
}

double Hardware::peak_flops(const std::string& dtype) const {
  return rate_of(matmul_tflops, dtype, "matmul");
}

Hardware hardware_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    Hardware h;
    h.name = j.at("name").get<std::string>();
    h.source = j.value("source", "");
    const auto& d = j.at("device");
    h.matmul_tflops = d.at("matmul_tflops").get<std::map<std::string, double>>();
    h.attention_tflops = d.at("attention_tflops").get<std::map<std::string, double>>();
    if (d.contains("flash_attention_tflops")) {
      h.flash_attention_tflops =
          d.at("flash_attention_tflops").get<std::map<std::string, double>>();
    }
    h.gemm_efficiency = d.at("gemm_efficiency").get<double>();
    h.gemm_half_dim = d.at("gemm_half_dim").get<double>();
    h.attention_includes_scores = d.value("attention_includes_scores", true);
    h.memory_bandwidth_gbs = d.at("memory_bandwidth_gbs").get<double>();
    h.optimizer_gbs = d.value("optimizer_gbs", h.memory_bandwidth_gbs);
    h.memory_gb = d.at("memory_gb").get<double>();
    h.overlap_memory_accesses = d.value("overlap_memory_accesses", 0.0);
    h.devices_per_node = json_int<int>(j.at("node").at("devices"));
    h.compute_slots = json_int(j.at("node"), "compute_slots", h.devices_per_node);
    for (auto [link, key] : {std::pair{&h.intra, "intra"}, std::pair{&h.inter, "inter"}}) {
      link->bandwidth_gbs = j.at(key).at("bandwidth_gbs").get<double>();
      link->latency_us = j.at(key).at("latency_us").get<double>();
      link->sends_need_sender = j.at(key).value("sends_need_sender", false);
    }
    h.inter.nic_ranks = json_int(j.at("inter"), "nic_ranks", 1);
    h.inter.rails = json_int(j.at("inter"), "rails", 1);
    h.overlap = j.value("overlap", 1.0);
    h.precision = j.value("precision", "fp32");
    PARTI_CHECK(h.precision == "fp32" || h.precision == "bf16", ConfigError, where,
                ": precision must be fp32 or bf16, got ", h.precision);
    PARTI_CHECK(h.devices_per_node >= 1 && h.compute_slots >= 1 && h.memory_gb > 0 &&
                    h.memory_bandwidth_gbs > 0 && h.optimizer_gbs > 0 &&
                    h.intra.bandwidth_gbs > 0 && h.inter.bandwidth_gbs > 0 &&
                    h.gemm_efficiency > 0 && h.gemm_half_dim >= 0 && h.inter.nic_ranks >= 1 &&
                    h.inter.rails >= 1 && h.overlap_memory_accesses >= 0,
                ConfigError, where, ": every rate, size and count must be positive");
    return h;
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(str_cat(where, ": not a hardware profile: ", e.what()));
  }
}

Hardware load_hardware(const std::string& name_or_path) {
  const bool path =
      name_or_path.find('/') != std::string::npos ||
      (name_or_path.size() > 5 && name_or_path.compare(name_or_path.size() - 5, 5, ".json") == 0);
  const std::string file = path ? name_or_path : hardware_dir() + "/" + name_or_path + ".json";
  std::ifstream in(file);
  if (!in.good()) {
    std::string known;
    for (const std::string& n : hardware_names()) {
      known += (known.empty() ? "" : ", ") + n;
    }
    throw ConfigError(str_cat("--hardware ", name_or_path, ": no profile ", file, " (shipped: ",
                              known, "; `parti bench calibrate` writes one for this machine)"));
  }
  try {
    return hardware_from_json(nlohmann::json::parse(in), file);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(str_cat(file, ": not valid JSON: ", e.what()));
  }
}

nlohmann::ordered_json to_json(const Hardware& h) {
  nlohmann::ordered_json j;
  j["name"] = h.name;
  j["source"] = h.source;
  j["device"] = {{"matmul_tflops", h.matmul_tflops},
                 {"attention_tflops", h.attention_tflops},
                 {"attention_includes_scores", h.attention_includes_scores},
                 {"gemm_efficiency", h.gemm_efficiency},
                 {"gemm_half_dim", h.gemm_half_dim},
                 {"memory_bandwidth_gbs", h.memory_bandwidth_gbs},
                 {"optimizer_gbs", h.optimizer_gbs},
                 {"memory_gb", h.memory_gb},
                 {"overlap_memory_accesses", h.overlap_memory_accesses}};
  if (!h.flash_attention_tflops.empty()) {
    j["device"]["flash_attention_tflops"] = h.flash_attention_tflops;
  }
  j["node"] = {{"devices", h.devices_per_node}, {"compute_slots", h.compute_slots}};
  for (auto [link, key] : {std::pair{&h.intra, "intra"}, std::pair{&h.inter, "inter"}}) {
    j[key] = {{"bandwidth_gbs", link->bandwidth_gbs},
              {"latency_us", link->latency_us},
              {"sends_need_sender", link->sends_need_sender}};
  }
  j["inter"]["nic_ranks"] = h.inter.nic_ranks;
  j["inter"]["rails"] = h.inter.rails;
  j["overlap"] = h.overlap;
  j["precision"] = h.precision;
  return j;
}

std::vector<std::string> hardware_names() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(hardware_dir(), error)) {
    if (entry.path().extension() == ".json") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace parti::plan
