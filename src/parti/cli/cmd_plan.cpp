// parti plan --model PRESET | --layers --heads --dim --seq-len --vocab  --global-batch B
//            --gpus N --gpus-per-node G --hardware PROFILE [--precision fp32|bf16] [--top K]
//            [--attention materialized|flash] [--kernels fused|eager]
//            [--loss-kernel fused|autocast|vocab-parallel] [--no-dp-overlap]
//            [--distributed-optimizer] [--tp-comm-overlap]
//            [--attention-dropout P] [--hidden-dropout P] [--no-weights-copy] [--json]
//            [--dp --tp --pp --sp/--no-sp --zero --micro-batch --recompute --schedule
//            --virtual-stages]
// The K best layouts with predicted step time, tokens/s, model TFLOP/s per device, MFU, memory
// per device by kind, bubble and communication, then what became of the layouts a user tries
// first. A layout flag fixes that dimension. With --json the last line is a JSON array of the
// candidates, best first.
#include <fmt/core.h>

#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "parti/cli/commands.h"
#include "parti/core/check.h"
#include "parti/plan/search.h"

namespace parti::cli {
namespace {

struct PlanArgs {
  std::string preset;
  ModelFlags model;
  std::string global_batch;  // B, or LO:HI (a batch that changes: both ends planned)
  int gpus = 0;
  int gpus_per_node = 0;  // 0: the profile's
  std::string hardware;
  std::string precision;  // empty: the profile's
  int top = 5;
  bool json = false;
  int dp = 0, cp = 0, tp = 0, pp = 0, zero = -1, micro_batch = 0, virtual_stages = 0;
  bool sp = false;
  CLI::Option* sp_flag = nullptr;
  std::string recompute, schedule, tp_mode;
  std::string attention = "materialized";
  std::string kernels = "fused";
  std::string loss;  // default: autocast under eager kernels, else fused
  bool dp_overlap = true;
  bool distributed_optimizer = false, tp_comm_overlap = false;
  double attention_dropout = 0, hidden_dropout = 0;
  bool weights_copy = true;
  double bucket_mb = 25;
  bool pp_scatter_gather = false;
  bool pp_blocking_sends = false;
  bool grad_accumulation_fusion = true;
  bool embedding_pieces = true;
};

double gib(double bytes) { return bytes / 1073741824.0; }

nlohmann::ordered_json to_json(const plan::Candidate& c) {
  const plan::Layout& l = c.layout;
  const plan::StepTime& t = c.time;
  nlohmann::ordered_json j;
  j["dp"] = l.dp;
  j["cp"] = l.cp;
  j["tp"] = l.tp;
  j["pp"] = l.pp;
  j["sp"] = l.sp;
  j["tp_mode"] = l.tp_mode;
  j["zero"] = l.zero;
  j["micro_batch"] = l.micro_batch;
  j["virtual_stages"] = l.virtual_stages;
  j["recompute"] = l.recompute;
  j["schedule"] = l.pp > 1 ? l.schedule : "none";
  j["step_time_s"] = t.step_s;
  j["tokens_per_s"] = t.tokens_per_s;
  j["model_tflops_per_device"] = t.model_tflops_per_device;
  j["mfu"] = t.mfu;
  j["memory_bytes"] = c.memory.total();
  j["memory"] = {{"params", c.memory.params},
                 {"grads", c.memory.grads},
                 {"optim", c.memory.optim},
                 {"activations", c.memory.activations},
                 {"buffers", c.memory.buffers}};
  j["bubble"] = t.bubble;
  // One micro-batch on the busiest stage (what the trainer's pp_cost_ms measures), and the
  // optimizer step.
  j["micro_batch_s"] = {{"forward", t.forward_s},
                        {"backward", t.backward_s},
                        {"weight", t.weight_s},
                        {"optimizer", t.optimizer_s}};
  j["comm_s"] = {{"tp", t.tp_comm_s},
                 {"cp", t.cp_comm_s},
                 {"pp", t.pp_comm_s},
                 {"dp", t.dp_comm_s},
                 {"dp_exposed", t.dp_exposed_s},
                 {"tied", t.tied_s}};
  j["exact"] = c.exact;
  return j;
}

// The dimensions the flags fix (the others the search chooses).
plan::Fixed fixed_of(const PlanArgs& a) {
  plan::Fixed f;
  auto fix = [](int value, std::optional<int>& slot) {
    if (value > 0) {
      slot = value;
    }
  };
  fix(a.dp, f.dp);
  fix(a.cp, f.cp);
  fix(a.tp, f.tp);
  fix(a.pp, f.pp);
  fix(a.micro_batch, f.micro_batch);
  fix(a.virtual_stages, f.virtual_stages);
  if (a.zero >= 0) {
    f.zero = a.zero;
  }
  if (a.sp_flag->count() > 0) {
    f.sp = a.sp;
  }
  if (!a.recompute.empty()) {
    f.recompute = a.recompute;
  }
  if (!a.schedule.empty()) {
    f.schedule = a.schedule;
  }
  if (!a.tp_mode.empty()) {
    PARTI_CHECK(a.tp_mode == "1d" || a.tp_mode == "2d", ConfigError, "--tp-mode ", a.tp_mode,
                ": expected 1d or 2d (2.5d is 2d with dp x --tp-depth)");
    f.tp_mode = a.tp_mode;
  }
  return f;
}

// --global-batch B or LO:HI, as (LO, HI).
std::pair<int, int> batch_range(const std::string& text) {
  const size_t colon = text.find(':');
  const auto number = [&](const std::string& part) {
    const std::optional<int64_t> v = parse_integer(part);
    PARTI_CHECK(v.has_value() && *v > 0 && *v <= std::numeric_limits<int>::max(), ConfigError,
                "--global-batch ", text,
                ": expected a positive number of sequences B, or a range LO:HI");
    return static_cast<int>(*v);
  };
  if (colon == std::string::npos) {
    const int b = number(text);
    return {b, b};
  }
  const std::pair<int, int> r{number(text.substr(0, colon)), number(text.substr(colon + 1))};
  PARTI_CHECK(r.first < r.second, ConfigError, "--global-batch ", text,
              ": a range LO:HI needs LO < HI");
  return r;
}

// The workload the flags describe: the model, the batch, and how it is trained.
plan::Workload workload_of(const PlanArgs& a, const model::ModelConfig& m, int global_batch) {
  PARTI_CHECK(a.attention == "materialized" || a.attention == "flash", ConfigError, "--attention ",
              a.attention, ": expected materialized or flash");
  PARTI_CHECK(a.kernels == "fused" || a.kernels == "eager", ConfigError, "--kernels ", a.kernels,
              ": expected fused or eager");
  const std::string loss = !a.loss.empty() ? a.loss : a.kernels == "eager" ? "autocast" : "fused";
  PARTI_CHECK(loss == "fused" || loss == "autocast" || loss == "vocab-parallel", ConfigError,
              "--loss-kernel ", loss, ": expected fused, autocast or vocab-parallel");
  for (auto [p, flag] : {std::pair{a.attention_dropout, "--attention-dropout"},
                         std::pair{a.hidden_dropout, "--hidden-dropout"}}) {
    PARTI_CHECK(p >= 0 && p < 1, ConfigError, flag, " ", p, ": expected a probability in [0, 1)");
  }
  PARTI_CHECK(a.bucket_mb > 0, ConfigError, "--bucket-mb ", a.bucket_mb, ": expected MiB above 0");
  return {.model = m,
          .global_batch = global_batch,
          .attention = a.attention,
          .kernels = a.kernels,
          .loss = loss,
          .dp_overlap = a.dp_overlap,
          .distributed_optimizer = a.distributed_optimizer,
          .tp_comm_overlap = a.tp_comm_overlap,
          .attention_dropout = a.attention_dropout,
          .hidden_dropout = a.hidden_dropout,
          .weights_copy = a.weights_copy,
          .bucket_mb = a.bucket_mb,
          .pp_scatter_gather = a.pp_scatter_gather,
          .pp_blocking_sends = a.pp_blocking_sends,
          .grad_accumulation_fusion = a.grad_accumulation_fusion,
          .embedding_pieces = a.embedding_pieces};
}

// One global batch's search, printed; its result.
plan::PlanResult plan_batch(PlanArgs& a, const model::ModelConfig& m, int global_batch) {
  plan::Query q;
  q.workload = workload_of(a, m, global_batch);
  q.hardware = plan::load_hardware(a.hardware);
  q.precision = plan::precision_of(a.precision.empty() ? q.hardware.precision : a.precision);
  q.cluster.devices = a.gpus;
  q.cluster.devices_per_node = a.gpus_per_node > 0 ? a.gpus_per_node : q.hardware.devices_per_node;
  q.top = a.top;
  PARTI_CHECK(a.top >= 1, ConfigError, "--top must be at least 1");
  q.fixed = fixed_of(a);
  const plan::PlanResult r = plan::plan(q);
  const double params = static_cast<double>(model::parameter_count(m));
  std::cout << fmt::format(
      "parti plan: {} {} layers x {} wide, {} heads ({} key/value), MLP {}, seq {} ({:.3g}B "
      "parameters), {} attention, {} kernels, {} loss{}; global batch {} sequences; "
      "{} devices, {} per node; {} ({}), {}{}\n",
      m.family, m.layers, m.dim, m.heads, m.key_value_heads(), m.hidden(), m.seq_len, params / 1e9,
      a.attention, a.kernels, q.workload.loss,
      a.attention_dropout > 0 || a.hidden_dropout > 0
          ? fmt::format(", dropout {:g} (attention) {:g} (hidden)", a.attention_dropout,
                        a.hidden_dropout)
          : "",
      global_batch, q.cluster.devices, q.cluster.devices_per_node, q.hardware.name,
      q.hardware.source, q.precision.name,
      plan::master_only(q.workload, q.precision) ? " (no weights copy: fp32 master only)" : "");
  std::cout << fmt::format(
      "searched {} layouts in {:.3f} s: {} legal, {} within {:.0f}% of {:.0f} GiB\n", r.enumerated,
      r.seconds, r.legal, r.fitting, 100 * q.memory_headroom, q.hardware.memory_gb);
  if (!r.best.empty()) {
    std::cout << fmt::format(
        "{:>4} {:>5} {:>3} {:>4} {:>3} {:>4} {:>11} {:>4} {:>4} {:>3} {:>9} {:>9} {:>10} {:>8} "
        "{:>6} {:>8}  {:<34} {:>6} {:>8} {:>8} {:>8} {:>8}\n",
        "rank", "dp", "cp", "tp", "sp", "pp", "schedule", "V", "zero", "mb", "recompute", "step_s",
        "tokens/s", "TFLOP/s", "MFU", "mem_GiB", "(params grads optim act buffers)", "bubble",
        "tp_s", "cp_s", "pp_s", "dp_s");
  }
  for (size_t i = 0; i < r.best.size(); ++i) {
    const plan::Candidate& c = r.best[i];
    const plan::Layout& l = c.layout;
    const plan::Memory& mem = c.memory;
    std::cout << fmt::format(
        "{:>4} {:>5} {:>3} {:>4} {:>3} {:>4} {:>11} {:>4} {:>4} {:>3} {:>9} {:>9.4g} {:>10.4g} "
        "{:>8.4g} {:>6.3f} {:>8.3g}  ({:<6.3g} {:<6.3g} {:<6.3g} {:<6.3g} {:<6.3g}) {:>6.3f} "
        "{:>8.3g} {:>8.3g} {:>8.3g} {:>8.3g}{}\n",
        i + 1, l.dp, l.cp,
        l.grid() > 1 ? fmt::format("{}x{}", l.grid(), l.grid()) : std::to_string(l.tp),
        l.sp ? "yes" : "no", l.pp, l.pp > 1 ? l.schedule : "-", l.virtual_stages, l.zero,
        l.micro_batch, l.recompute, c.time.step_s, c.time.tokens_per_s,
        c.time.model_tflops_per_device, c.time.mfu, gib(mem.total()), gib(mem.params),
        gib(mem.grads), gib(mem.optim), gib(mem.activations), gib(mem.buffers), c.time.bubble,
        c.time.tp_comm_s, c.time.cp_comm_s, c.time.pp_comm_s, c.time.dp_exposed_s,
        c.exact ? "" : " (closed forms)");
  }
  std::cout << "first tries:\n";
  for (const plan::Verdict& v : r.verdicts) {
    std::cout << "  " << v.what << ": " << v.outcome << "\n";
  }
  if (!r.best_grid.empty() && !r.best_1d_tp.empty()) {
    const plan::Candidate &g = r.best_grid.front(), &o = r.best_1d_tp.front();
    const double ratio = o.time.step_s / g.time.step_s;
    std::cout << fmt::format(
        "block partitioning: the fastest grid layout (tp {} as {} x {}: dp {} mb {}, step {:.3g} "
        "s) "
        "{} the fastest 1D tensor-parallel one (tp {}{}: dp {} mb {}, step {:.3g} s) by {:.2f}x\n",
        g.layout.tp, g.layout.grid(), g.layout.grid(), g.layout.dp, g.layout.micro_batch,
        g.time.step_s, ratio >= 1 ? "beats" : "loses to", o.layout.tp, o.layout.sp ? " sp" : "",
        o.layout.dp, o.layout.micro_batch, o.time.step_s, ratio >= 1 ? ratio : 1 / ratio);
  }
  if (r.best.empty()) {
    std::cout << "no legal layout fits this model on this cluster\n";
  }
  PARTI_CHECK(!r.best.empty(), ConfigError,
              "no layout fits: more devices, --precision bf16, or a smaller model");
  return r;
}

nlohmann::ordered_json to_json(const plan::PlanResult& r) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const plan::Candidate& c : r.best) {
    all.push_back(to_json(c));
  }
  return all;
}

// The words of a layout's shape, for the range's verdict.
std::string shape_of(const plan::Layout& l) {
  return fmt::format("dp {} cp {} tp {}{}{} pp {} zero {} mb {}", l.dp, l.cp, l.tp,
                     l.grid() > 1 ? fmt::format(" ({}x{})", l.grid(), l.grid()) : "",
                     l.sp ? " sp" : "", l.pp, l.zero, l.micro_batch);
}

void run_plan(PlanArgs& a) {
  PARTI_CHECK(!a.preset.empty() || a.model.any(), ConfigError,
              "parti plan needs --model PRESET or --layers --heads --dim --seq-len --vocab");
  model::ModelConfig m = a.preset.empty() ? model::ModelConfig{0, 0, 0, 0, model::kGpt2Vocab}
                                          : model::preset(a.preset);
  a.model.apply(m);
  const auto [low, high] = batch_range(a.global_batch);
  if (low == high) {
    const plan::PlanResult r = plan_batch(a, m, low);
    if (a.json) std::cout << to_json(r).dump() << "\n";
    return;
  }
  // A batch that changes (train --batch-ramp, --adaptive-batch): the best layout at each end.
  std::cout << "== the range's low end\n";
  const plan::PlanResult lo = plan_batch(a, m, low);
  std::cout << "== the range's high end\n";
  const plan::PlanResult hi = plan_batch(a, m, high);
  const plan::Layout &l = lo.best.front().layout, &h = hi.best.front().layout;
  std::cout << fmt::format(
      "across --global-batch {}:{} the best layout {}: {} at {}{}\n", low, high,
      shape_of(l) == shape_of(h) ? "stays" : "changes", shape_of(l), low,
      shape_of(l) == shape_of(h) ? "" : fmt::format(", {} at {}", shape_of(h), high));
  if (a.json) {
    std::cout << nlohmann::ordered_json{{"low", to_json(lo)}, {"high", to_json(hi)}}.dump() << "\n";
  }
}

// How the run computes and communicates, which no layout changes (the workload's kernels and
// overlaps); the defaults are Parti's trainer.
void add_software_flags(CLI::App* cmd, PlanArgs& a) {
  cmd->add_option("--attention", a.attention,
                  "the attention kernel: materialized (writes the T x T scores and keeps the "
                  "probabilities: Parti's trainer, Megatron-LM before FlashAttention) or flash "
                  "(keeps each row's log-sum-exp)")
      ->capture_default_str();
  cmd->add_option("--kernels", a.kernels,
                  "element-wise work: fused (one kernel per norm, rotary embedding and "
                  "activation: Parti's trainer, Megatron-LM, torch.compile) or eager (PyTorch "
                  "eager's chains of small ops)")
      ->capture_default_str();
  cmd->add_option("--loss-kernel", a.loss,
                  "the cross-entropy over the logits: fused (a kernel each way in the "
                  "activations' type: Parti's trainer, torch.compile, Megatron-LM's "
                  "--cross-entropy-loss-fusion), autocast (PyTorch's cross_entropy under "
                  "autocast: an fp32 log-softmax) or vocab-parallel (Megatron-LM's default: the "
                  "logits cast to fp32, then max, subtract, exp, sum and divide, a pass each); "
                  "default: autocast with --kernels eager, else fused");
  cmd->add_flag("--dp-overlap,!--no-dp-overlap", a.dp_overlap,
                "data parallelism's collectives overlap backward (default: Parti's bucketed "
                "reducer, PyTorch's DDP and FSDP) or run after it (Megatron-LM without "
                "--overlap-grad-reduce)");
  cmd->add_flag("--distributed-optimizer", a.distributed_optimizer,
                "ZeRO-1 as Megatron-LM's distributed optimizer: gradients reduce-scattered, the "
                "updated parameters gathered behind the next step's first forward "
                "(--overlap-param-gather) unless --no-dp-overlap; default: as Parti's trainer, an "
                "all-reduce and a gather after the step");
  cmd->add_option("--bucket-mb", a.bucket_mb,
                  "data parallelism's gradient buckets in MiB (ZeRO 0-1): each starts its "
                  "collective once full (parti train's --bucket-mb; Megatron-Core's "
                  "--ddp-bucket-size, by default max(40M, 1M x dp) parameters of fp32 "
                  "gradients); under a pipeline the trainer reduces all gradients at once")
      ->capture_default_str();
  cmd->add_flag("--pp-scatter-gather", a.pp_scatter_gather,
                "without --sp, each tp rank sends a 1/tp piece of the activation to the next "
                "stage, whose tp group all-gathers it (Megatron-LM's scatter/gather, its default "
                "before sequence parallelism); default: every tp rank sends it whole, as Parti's "
                "trainer");
  cmd->add_flag("--pp-blocking-sends", a.pp_blocking_sends,
                "each pipeline send and receive is a blocking transfer of its own, in the "
                "schedule's order (DeepSpeed's pipeline engine): a stage's slot waits for four "
                "transfers; default: two, each send beside its receive (Parti's trainer, "
                "Megatron-LM)");
  cmd->add_flag("--gradient-accumulation-fusion,!--no-gradient-accumulation-fusion",
                a.grad_accumulation_fusion,
                "the weight-gradient products add into the gradient buffer (default: Parti's "
                "trainer, Megatron-LM since 2022) or write each micro-batch's gradient for a "
                "kernel of its own to add (Megatron-LM before 2022, DeepSpeed, PyTorch autograd "
                "across micro-batches): a pass over the rank's weights per micro-batch");
  cmd->add_flag("--embedding-pieces,!--no-embedding-pieces", a.embedding_pieces,
                "ZeRO-2/3: the embedding's gradient reduced to its owners and its weights "
                "broadcast from them in pieces, each piece whole to every other rank (default: "
                "Parti's trainer) or reduce-scattered and all-gathered as any unit (PyTorch FSDP, "
                "DeepSpeed)");
  cmd->add_flag("--tp-comm-overlap", a.tp_comm_overlap,
                "sequence parallelism's collectives hidden behind the products beside them "
                "(Megatron-LM's --tp-comm-overlap) up to the profile's overlap share; default: "
                "on the critical path, as Parti's trainer");
  cmd->add_flag("--weights-copy,!--no-weights-copy", a.weights_copy,
                "bf16: a bf16 copy of the weights beside the fp32 master (default: Megatron-LM, "
                "DeepSpeed) or none (autocast and PyTorch FSDP's mixed precision, which cast the "
                "fp32 weights where they use or gather them)");
  cmd->add_option("--attention-dropout", a.attention_dropout,
                  "dropout on the attention probabilities (Megatron-LM's flag; GPT-3-style "
                  "recipes: 0.1): a mask the materialized kernel writes, keeps and reads back")
      ->capture_default_str();
  cmd->add_option("--hidden-dropout", a.hidden_dropout,
                  "dropout on the residual stream after the embedding and each sublayer "
                  "(Megatron-LM's flag): a mask kept per element")
      ->capture_default_str();
}

}  // namespace

void add_plan(CLI::App& app) {
  auto args = std::make_shared<PlanArgs>();
  PlanArgs& a = *args;
  CLI::App* cmd =
      app.add_subcommand("plan", "the fastest layouts for a model on a cluster, predicted");
  cmd->add_option("--model", a.preset,
                  "preset: tiny, small, gpt2, gpt2-medium, gpt2-large, gpt2-xl, llama-tiny, "
                  "llama-small, llama3-1b, llama3-8b");
  a.model.add(cmd, "vocabulary (default 50257)");
  cmd->add_option("--global-batch", a.global_batch,
                  "sequences per optimizer step, or a range LO:HI (a batch that ramps or adapts): "
                  "the best layouts at each end, and whether the best one changes")
      ->required();
  cmd->add_option("--gpus", a.gpus, "devices (ranks) in all")->required();
  cmd->add_option("--gpus-per-node", a.gpus_per_node, "devices per node (default: the profile's)");
  cmd->add_option("--hardware", a.hardware,
                  "profile: a100-40gb, a100-80gb, h100-sxm, h200, a name in configs/hardware or a "
                  "path to a .json (parti bench calibrate writes one)")
      ->required();
  cmd->add_option("--precision", a.precision,
                  "fp32 (Parti's CPU trainer) or bf16 (mixed precision: bf16 weights and "
                  "activations, fp32 gradients, master weights and moments); default: the "
                  "profile's");
  add_software_flags(cmd, a);
  cmd->add_option("--top", a.top, "how many layouts to print")->capture_default_str();
  cmd->add_flag("--json", a.json, "end with one line: a JSON array of the layouts, best first");
  cmd->add_option("--dp", a.dp, "fix data-parallel ranks");
  cmd->add_option("--cp", a.cp, "fix context-parallel ranks (ring attention)");
  cmd->add_option("--tp", a.tp, "fix tensor-parallel ranks");
  cmd->add_option("--tp-mode", a.tp_mode,
                  "fix how tp cuts the weights: 1d, or 2d (a q x q grid; 2.5d runs as 2d with "
                  "dp x --tp-depth)");
  cmd->add_option("--pp", a.pp, "fix pipeline stages");
  a.sp_flag = cmd->add_flag("--sp,!--no-sp", a.sp, "fix sequence parallelism on (or off)");
  cmd->add_option("--zero", a.zero, "fix the ZeRO stage");
  cmd->add_option("--micro-batch", a.micro_batch, "fix sequences per micro-batch");
  cmd->add_option("--recompute", a.recompute, "fix recomputation: none, selective, full");
  cmd->add_option("--schedule", a.schedule,
                  "fix the pipeline schedule: gpipe, 1f1b, interleaved, zb");
  cmd->add_option("--virtual-stages", a.virtual_stages, "fix chunks per stage (interleaved)");
  cmd->callback([args] { run_plan(*args); });
}

}  // namespace parti::cli
