// A hardware profile: what the planner's time and memory models know of a cluster, one JSON file
// in configs/hardware/ (a100-40gb, a100-80gb, h100-sxm, h200 from datasheets and typical
// clusters; `parti bench calibrate` writes one measured on this machine).
//
//   device.matmul_tflops[dtype]   dense matmul peak per device (fp32, bf16)
//   device.gemm_efficiency        the best fraction of that peak a large GEMM reaches
//   device.gemm_half_dim          a GEMM (m, n, k) reaches efficiency / (1 + h/m + h/n + h/k)
//   device.attention_tflops[dtype] causal attention core (QK^T, softmax, AV) achieved rate
//   device.flash_attention_tflops[dtype]
//                                 the same for a kernel that keeps only each row's log-sum-exp and
//                                 makes the scores again in backward (FlashAttention; Parti's ring
//                                 attention under cp), on the same count; default: attention_tflops
//                                 (calibrate times the ring's pair kernel)
//   device.attention_includes_scores
//                                 true (the default, and calibrate's) where the attention rate was
//                                 timed on a kernel that writes its T x T scores (Parti's), so
//                                 their traffic is in the rate; false (the shipped GPU profiles):
//                                 the rate is the products' alone, and a workload whose kernel
//                                 materializes the scores streams them at the memory bandwidth on
//                                 top
//   device.memory_bandwidth_gbs   what elementwise kernels (norms, GELU, softmax, AdamW) stream
//   device.optimizer_gbs          what AdamW streams (7 fp32 accesses per parameter); default:
//                                 the memory bandwidth
//   device.memory_gb              memory per device (GiB)
//   device.overlap_memory_accesses
//                                 device-memory accesses per byte a collective moves while compute
//                                 runs beside it, which take that memory's bandwidth from the
//                                 compute (NCCL's kernels on their own stream: 2, they write what
//                                 they receive and read what they send on); default 0 (a
//                                 calibrated CPU profile: its fitted overlap share holds it)
//   node.devices                  devices (ranks) per node
//   node.compute_slots            ranks that compute at once at full speed (CPU: cores); more
//                                 ranks on a node share them (time x ranks / slots)
//   intra, inter                  link bandwidth (GB/s, per device, one direction) and latency
//                                 (us) inside a node and across nodes (alpha-beta model)
//   intra.sends_need_sender, inter.sends_need_sender
//                                 true where a large point-to-point message moves only while its
//                                 sender is inside MPI (TCP without a progress thread: measured);
//                                 default false (NCCL, shared memory's single copy)
//   inter.nic_ranks               ranks of a node that share one network link (default 1: a NIC
//                                 per device, as DGX nodes; calibrate measures it): while fewer
//                                 of them cross at once, each gets a larger share
//   inter.rails                   network links of a node one collective stripes its ring over
//                                 (default 1; NCCL's channels over a DGX node's 8 NICs: 8): a
//                                 group with k ranks on each node moves min(k, rails) x the
//                                 per-device bandwidth across nodes
//   overlap                       share of a collective that non-blocking calls hide behind
//                                 compute (NCCL on its own stream: ~1; MPI without a progress
//                                 thread: measured)
//   precision                     default: fp32 (Parti's CPU trainer) or bf16 (mixed precision)
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace parti::plan {

struct Link {
  double bandwidth_gbs = 0.0;
  double latency_us = 0.0;
  bool sends_need_sender = false;
  int nic_ranks = 1;
  int rails = 1;
};

struct Hardware {
  std::string name;
  std::string source;  // where the numbers come from
  std::map<std::string, double> matmul_tflops;
  std::map<std::string, double> attention_tflops;
  std::map<std::string, double> flash_attention_tflops;  // empty: attention_tflops
  double gemm_efficiency = 0.8;
  double gemm_half_dim = 64.0;
  bool attention_includes_scores = true;
  double memory_bandwidth_gbs = 0.0;
  double optimizer_gbs = 0.0;
  double memory_gb = 0.0;
  double overlap_memory_accesses = 0.0;
  int devices_per_node = 1;
  int compute_slots = 1;
  Link intra, inter;
  double overlap = 1.0;
  std::string precision = "fp32";

  // Achieved matmul rate (FLOP/s) of an (m x k) (k x n) product in `dtype`.
  double gemm_flops(double m, double n, double k, const std::string& dtype) const;
  double attention_flops(const std::string& dtype) const;  // FLOP/s
  // A kernel that kept no probabilities (FLOP/s).
  double flash_attention_flops(const std::string& dtype) const;
  double peak_flops(const std::string& dtype) const;  // FLOP/s, matmul peak
};

// By name (configs/hardware/NAME.json of the source tree, or a path to a .json file).
Hardware load_hardware(const std::string& name_or_path);
Hardware hardware_from_json(const nlohmann::json& j, const std::string& where);
nlohmann::ordered_json to_json(const Hardware& h);
std::vector<std::string> hardware_names();  // the shipped profiles

}  // namespace parti::plan
