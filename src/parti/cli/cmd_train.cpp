// parti train --data DIR --model PRESET [--layers --heads --dim --seq-len --vocab] ...
// The preset gives every model field; a flag given explicitly overrides its field. The
// vocabulary defaults to the data's (meta.json). Every rule is checked before any work starts.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include "parti/cli/commands.h"
#include "parti/cli/config_file.h"
#include "parti/core/check.h"
#include "parti/core/cpu.h"
#include "parti/data/blend.h"
#include "parti/io/checkpoint.h"
#include "parti/io/files.h"
#include "parti/plan/memory.h"
#include "parti/train/agree.h"
#include "parti/train/resume.h"
#include "parti/train/trainer.h"

namespace parti::cli {
namespace {

struct TrainArgs {
  train::TrainConfig cfg;
  ModelFlags model;
  std::string config_file;  // read before parsing (config_file.h); kept for --help
  std::string batch_ramp;   // START,INCREMENT,SAMPLES
};

// --batch-ramp START,INCREMENT,SAMPLES into the batch config.
void parse_ramp(const std::string& text, parallel::batch::BatchConfig& b) {
  std::vector<int64_t> parts;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    const std::optional<int64_t> v = parse_integer(part);
    PARTI_CHECK(v.has_value(), ConfigError, "--batch-ramp ", text, ": ",
                part.empty() ? "an empty part" : "'" + part + "' is not an integer",
                " (expected START,INCREMENT,SAMPLES)");
    parts.push_back(*v);
  }
  PARTI_CHECK(parts.size() == 3 && parts[0] > 0 && parts[1] > 0 && parts[2] > 0 &&
                  parts[0] <= std::numeric_limits<int>::max() &&
                  parts[1] <= std::numeric_limits<int>::max(),
              ConfigError, "--batch-ramp ", text,
              ": expected three positive integers START,INCREMENT,SAMPLES (sequences)");
  b.ramp_start = static_cast<int>(parts[0]);
  b.ramp_increment = static_cast<int>(parts[1]);
  b.ramp_samples = parts[2];
}

// Refuses, before anything is allocated, a run whose ranks this machine cannot hold: the
// planner's per-rank estimate (plan/memory.h, held within 10% of the trainer's measured bytes by
// the planner's test) against the physical memory shared by the ranks on this node.
void check_fits_in_memory(const train::TrainConfig& cfg, const Runtime& runtime) {
  const plan::Memory need = plan::peak_memory(plan::stage_memory(
      {cfg.model, cfg.data.batch.global_batch}, cfg.layout, plan::precision_of("fp32"), false));
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  const int ranks_here = local != nullptr ? std::max(1, std::atoi(local)) : runtime.size();
  const double machine =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  const double each = machine / ranks_here;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  PARTI_CHECK(
      need.total() <= each, ConfigError,
      fmt::format("this run needs about {:.1f} GiB per rank (parameters {:.1f}, gradients "
                  "{:.1f}, optimizer {:.1f}, activations {:.1f}, buffers {:.1f}: the "
                  "planner's estimate) and this machine has {:.1f} GiB for each of its "
                  "{} ranks; shard it (--zero, --tp, --pp, more ranks) or lower "
                  "--micro-batch, --seq-len or the model's size (parti plan helps)",
                  need.total() / kGiB, need.params / kGiB, need.grads / kGiB, need.optim / kGiB,
                  need.activations / kGiB, need.buffers / kGiB, each / kGiB, ranks_here));
}

// torchrun's and Megatron's launch defaults: dp fills the job's ranks (world / (tp x cp x pp));
// the global batch is one micro-batch per dp rank. A job whose ranks tp x cp x pp does not
// divide gets dp = its quotient (at least 1): check_job_size then says so, after the layout's own
// rules.
void resolve_launch_defaults(train::TrainConfig& cfg, const Runtime& runtime) {
  parallel::Layout& l = cfg.layout;
  if (l.dp == 0) {
    l.dp = std::max(1, runtime.size() / std::max(1, l.tp * l.cp * l.pp));
  }
  parallel::batch::BatchConfig& b = cfg.data.batch;
  if (b.global_batch == 0) {
    b.global_batch = l.micro_batch * l.dp;
  }
}

void check_job_size(const parallel::Layout& l, const Runtime& runtime, bool dp_given) {
  PARTI_CHECK(l.ranks() == runtime.size(), ConfigError, "--dp ", l.dp, " x --tp ", l.tp, " x --cp ",
              l.cp, " x --pp ", l.pp, " = ", l.ranks(), " ranks, but the job has ", runtime.size(),
              " (mpirun -np)",
              dp_given ? ""
                       : str_cat("; without --dp, dp is the job's ranks / (tp x cp x pp), so -np "
                                 "must be a multiple of ",
                                 l.tp * l.cp * l.pp));
}

// The launch defaults as this job resolved them, for run.toml: under another -np they would
// resolve otherwise.
std::map<std::string, std::string> launch_defaults(const train::TrainConfig& cfg,
                                                   const Runtime& runtime) {
  train::TrainConfig resolved = cfg;
  resolve_launch_defaults(resolved, runtime);
  std::map<std::string, std::string> out = {{"dp", std::to_string(resolved.layout.dp)}};
  if (!cfg.data.batch.adaptive) {
    out["global-batch"] = std::to_string(resolved.data.batch.global_batch);
  }
  return out;
}

// <ckpt-dir>/run.toml: the flags of this run, resolved; `parti train --config` of it repeats it.
void write_resolved_flags(const CLI::App& cmd, const train::TrainConfig& cfg,
                          const Runtime& runtime) {
  if (cfg.io.ckpt_dir.empty() || runtime.rank() != 0) return;
  io::make_dirs(cfg.io.ckpt_dir);
  io::write_text_atomically(
      cfg.io.ckpt_dir + "/run.toml",
      "# The flags of this run: `parti train --config run.toml` repeats it "
      "(flags given too win).\n" +
          resolved_toml(cmd, {"config", "resume", "overwrite", "allow-changes", "help"},
                        launch_defaults(cfg, runtime)));
}

// The batch flags resolved: the ramp parsed; --adaptive-batch's quantum (default: the minimum)
// and its maximum as the batch the learning rate is set for.
void resolve_batch_flags(const std::string& ramp, const CLI::App& cmd,
                         parallel::batch::BatchConfig& b) {
  if (!ramp.empty()) {
    parse_ramp(ramp, b);
  }
  if (b.adaptive) {
    PARTI_CHECK(cmd.get_option("--global-batch")->count() == 0, ConfigError,
                "--adaptive-batch with a fixed --global-batch: the batch follows the noise scale "
                "between --min-global-batch and --max-global-batch");
    b.quantum = b.quantum > 0 ? b.quantum : b.min_batch;
    b.global_batch = b.max_batch;
  }
}

// The configuration resolved and checked: the flags, the data's meta.json, the memory it needs.
train::TrainConfig checked_config(TrainArgs& a, const Runtime& runtime, const CLI::App& cmd) {
  train::TrainConfig cfg = a.cfg;
  // --resume [PATH]; in a --config file `resume = true` or a path.
  cfg.io.resume = cmd.get_option("--resume")->count() > 0 && cfg.io.resume_from != "false";
  if (cfg.io.resume_from == "true" || cfg.io.resume_from == "false") cfg.io.resume_from.clear();
  train::resolve_checkpoint_flags(cfg.io);
  PARTI_CHECK(cfg.preset.empty() != cfg.io.init_from.empty(), ConfigError,
              "give --model PRESET or --init-from DIR (a Hugging Face model folder, which gives "
              "the shape), one of the two");
  const bool hf = !cfg.io.init_from.empty();
  cfg.model = hf ? hf_folder_config(cfg.io.init_from) : model::preset(cfg.preset);
  DataMeta meta;
  if (!cfg.data.dir.empty()) {  // a blend's datasets must share their tokenizer
    const std::vector<data::BlendPart> parts = data::parse_blend(cfg.data.dir);
    meta = read_data_meta(parts[0].dir);
    for (const data::BlendPart& part : parts) {
      const DataMeta other = read_data_meta(part.dir);
      PARTI_CHECK(other.tokenizer == meta.tokenizer && other.vocab_size == meta.vocab_size,
                  ConfigError, "--data: ", part.dir, " holds ", other.tokenizer, " tokens (",
                  other.vocab_size, " ids), ", parts[0].dir, " ", meta.tokenizer, " tokens (",
                  meta.vocab_size, "): blended datasets need one tokenizer");
    }
  }
  cfg.data.tokenizer = meta.tokenizer;
  cfg.data.bos = meta.bos;
  cfg.data.eot = meta.eot;
  cfg.model.vocab = meta.vocab_size > 0 && !hf ? meta.vocab_size : cfg.model.vocab;
  a.model.apply(cfg.model);
  resolve_batch_flags(a.batch_ramp, cmd, cfg.data.batch);
  resolve_launch_defaults(cfg, runtime);
  std::vector<std::string> errors = train::validate(cfg);
  if (!errors.empty()) {
    std::string all = errors[0];
    for (size_t i = 1; i < errors.size(); ++i) {
      all += "; " + errors[i];
    }
    throw ConfigError(all);
  }
  check_job_size(cfg.layout, runtime, cmd.get_option("--dp")->count() > 0);
  if (cfg.layout.tp_mode == "2.5d") {
    const parallel::Layout& l = cfg.layout;
    const parallel::Layout grid = l.grid_equivalent();
    if (runtime.rank() == 0) {
      std::cout << "--tp-mode 2.5d: tp " << l.tp << " = " << l.tp_depth << " grids of " << l.grid()
                << " x " << l.grid() << "; each takes " << grid.micro_batch << " of a "
                << l.micro_batch << "-sample micro-batch and the grids sum their gradients with "
                << "dp: runs as --tp " << grid.tp << " --tp-mode 2d --dp " << grid.dp
                << " --micro-batch " << grid.micro_batch << std::endl;
    }
    cfg.layout = grid;
  }
  check_fits_in_memory(cfg, runtime);
  return cfg;
}

void run_train(TrainArgs& a, const Runtime& runtime, const CLI::App& cmd) {
  std::unique_ptr<dist::ProcessGroup> world =
      runtime.mpi != nullptr ? runtime.mpi->world() : dist::make_self_group("world");
  // One message per failure: the ranks agree on the checks' outcome before any further work.
  train::TrainConfig cfg;
  train::agree_on_checks([&] { cfg = checked_config(a, runtime, cmd); }, *world);
  if (runtime.mpi != nullptr) {
    runtime.mpi->watchdog().set_timeout(cfg.comm_timeout);
    runtime.mpi->set_check_collectives(cfg.check_collectives);
  }
  train::check_ranks_agree(train::to_json(cfg), *world);  // before the mesh depends on them
  if (cfg.io.overwrite && runtime.rank() == 0) {
    const int removed = io::remove_checkpoints(cfg.io.ckpt_dir);
    if (removed > 0) {
      std::cout << "--overwrite: removed " << removed << " step folders from " << cfg.io.ckpt_dir
                << std::endl;
    }
  }
  dist::MeshShape shape;
  shape.sizes = {cfg.layout.tp, cfg.layout.cp, cfg.layout.dp, cfg.layout.pp};
  shape.tp_grid = cfg.layout.grid();
  dist::Mesh::Split split =
      runtime.mpi != nullptr ? runtime.mpi->splitter() : dist::Mesh::self_split();
  dist::Mesh mesh(shape, runtime.rank(), runtime.size(), split);
  core::set_threads(cfg.threads);
  train::Trainer trainer(cfg, mesh, world.get());
  write_resolved_flags(cmd, a.cfg, runtime);
  trainer.run(std::cout);
}

// The layout's flags (parallel/layout.h): how the run is spread over the ranks.
void add_layout_flags(CLI::App* cmd, parallel::Layout& l) {
  cmd->add_option("--micro-batch", l.micro_batch, "sequences per forward/backward")
      ->capture_default_str();
  cmd->add_option("--recompute", l.recompute,
                  "activation recomputation: none; full (keep each block's input, run its "
                  "forward again in backward); selective (recompute the attention core)")
      ->capture_default_str();
  l.dp = 0;  // resolve_launch_defaults
  cmd->add_option("--dp", l.dp,
                  "data-parallel ranks (mpirun -np = dp x cp x tp x pp; default: the job's ranks "
                  "/ (tp x cp x pp))");
  cmd->add_option("--tp", l.tp,
                  "tensor-parallel ranks (Megatron: heads, MLP units and vocabulary split)")
      ->capture_default_str();
  cmd->add_option("--tp-mode", l.tp_mode,
                  "how tp cuts a weight: 1d (Megatron: by rows or columns); 2d (blocks on a "
                  "q x q grid of the tp = q^2 ranks, SUMMA products; activations cut q^2 ways); "
                  "2.5d (--tp-depth grids)")
      ->capture_default_str();
  cmd->add_option("--tp-depth", l.tp_depth,
                  "with --tp-mode 2.5d: stacked grids (tp = depth x q x q); they split each "
                  "micro-batch's samples and sum their gradients")
      ->capture_default_str();
  cmd->add_option("--cp", l.cp,
                  "context-parallel ranks: each holds 2 of 2 x cp chunks of every sequence "
                  "(chunks i and 2cp-1-i) and attention runs around the cp ring")
      ->capture_default_str();
  cmd->add_flag("--sp", l.sp,
                "sequence parallelism with --tp: norms, residuals and the activations between "
                "sublayers split by tokens over tp");
  cmd->add_option("--pp", l.pp,
                  "pipeline stages (the embedding on the first, the final norm, logits and loss "
                  "on the last)")
      ->capture_default_str();
  cmd->add_option("--pp-layers", l.pp_layers,
                  "blocks per chunk, comma-separated (--pp x --virtual-stages entries); default: "
                  "balanced by estimated compute")
      ->delimiter(',');
  cmd->add_option("--schedule", l.schedule,
                  "pipeline schedule: gpipe, 1f1b, interleaved (with --virtual-stages), zb "
                  "(zero-bubble ZB-H1: weight gradients deferred into the bubbles)")
      ->capture_default_str();
  cmd->add_option("--virtual-stages", l.virtual_stages,
                  "chunks of layers per stage (--schedule interleaved)")
      ->capture_default_str();
  cmd->add_option("--bucket-mb", l.bucket_mb,
                  "gradient all-reduce bucket size in MB (reduced while backward runs)")
      ->capture_default_str();
  cmd->add_option("--grad-compress", l.grad_compress,
                  "data-parallel gradient reduction: none (fp32), bf16 (bf16 on the wire, summed "
                  "in fp32: half the bytes), powersgd (rank-R PowerSGD with error feedback for "
                  "matrices; --zero 0 or 1)")
      ->capture_default_str();
  cmd->add_option("--powersgd-rank", l.powersgd_rank,
                  "PowerSGD's rank R: (rows + cols) x R values per matrix on the wire")
      ->capture_default_str();
  cmd->add_option("--powersgd-start-step", l.powersgd_start_step,
                  "plain fp32 reductions for optimizer steps before this one, PowerSGD after")
      ->capture_default_str();
  cmd->add_option(
         "--zero", l.zero,
         "ZeRO stage over dp: 0 replicate, 1 shard AdamW moments, 2 also gradients, 3 also "
         "parameters")
      ->capture_default_str();
}

}  // namespace

// Where the run writes: checkpoints, their pruning, the log and the trace.
void add_io_flags(CLI::App* cmd, train::IoConfig& io) {
  cmd->add_option("--ckpt-dir", io.ckpt_dir, "checkpoint folder");
  cmd->add_option("--keep-last", io.keep_last,
                  "keep the newest N complete checkpoints, removing older ones after each save "
                  "(0: keep all)")
      ->capture_default_str();
  cmd->add_option("--ckpt-every", io.ckpt_every, "checkpoint every N steps (and at the end)")
      ->capture_default_str();
  cmd->add_flag("--async-save", io.async_save,
                "write checkpoints in a background thread while training goes on (each rank "
                "holds a copy of its parameters and moments meanwhile)");
  cmd->add_option("--resume", io.resume_from,
                  "continue a run: from the newest good checkpoint in --ckpt-dir (a damaged newer "
                  "one is passed over with a warning), or from PATH: a step folder (new "
                  "checkpoints go beside it) or a checkpoint folder")
      ->expected(0, 1)
      ->type_name("[PATH]");
  cmd->add_flag("--overwrite", io.overwrite,
                "start a new run in a --ckpt-dir that holds checkpoints, removing them (and "
                "replacing an existing --log)");
  cmd->add_option("--allow-changes", io.allow_changes,
                  "training flags a resumed run may change (e.g. lr,steps); others that differ "
                  "from the checkpoint's are refused")
      ->delimiter(',');
  cmd->add_option("--log", io.log, "append one JSON object per step to this file");
  cmd->add_option("--trace", io.trace,
                  "write a Chrome/Perfetto trace (JSON) of every rank's forward, backward, "
                  "send/recv and collectives");
}

// The batch (issue #22) and the run's length: --batch-ramp, --steps, --train-tokens,
// --warmup-tokens, --lr-batch-scaling.
void add_batch_flags(CLI::App* cmd, TrainArgs& a) {
  train::TrainConfig& c = a.cfg;
  cmd->add_option("--batch-ramp", a.batch_ramp,
                  "START,INCREMENT,SAMPLES: grow the global batch from START by INCREMENT "
                  "sequences, evenly over the first SAMPLES sequences, up to --global-batch "
                  "(Megatron's --rampup-batch-size)");
  cmd->add_option("--steps", c.steps, "optimizer steps (the LR schedule spans them)")
      ->capture_default_str();
  cmd->add_flag("--adaptive-batch", c.data.batch.adaptive,
                "the global batch follows the measured gradient noise scale (McCandlish et al. "
                "2018) between --min-global-batch and --max-global-batch, in multiples of "
                "--batch-quantum; halved on a loss spike");
  cmd->add_option("--min-global-batch", c.data.batch.min_batch,
                  "--adaptive-batch: the first and smallest batch (sequences)");
  cmd->add_option("--max-global-batch", c.data.batch.max_batch,
                  "--adaptive-batch: the largest batch (the learning rate's reference)");
  cmd->add_option("--batch-quantum", c.data.batch.quantum,
                  "--adaptive-batch: batches are multiples of it (default: --min-global-batch); "
                  "micro-batch x dp must divide it");
  cmd->add_option("--train-tokens", c.train_tokens,
                  "train this many tokens instead of --steps (the run ends at the first step "
                  "that reaches it; the LR schedule runs in tokens)")
      ->capture_default_str();
  cmd->add_option("--warmup-tokens", c.warmup_tokens,
                  "linear warmup in tokens (with --train-tokens)")
      ->capture_default_str();
  cmd->add_option("--lr-batch-scaling", c.lr_batch_scaling,
                  "none, linear or sqrt: the LR of a step whose batch is below --global-batch "
                  "(a ramp's) scaled by batch / global-batch, or its square root")
      ->capture_default_str();
}

void add_train(CLI::App& app, const Runtime& runtime) {
  auto args = std::make_shared<TrainArgs>();
  train::TrainConfig& c = args->cfg;
  CLI::App* cmd = app.add_subcommand("train", "train a GPT on prepared data");
  cmd->add_option("--data", c.data.dir,
                  "folder made by `parti prepare`, or a blend DIR:WEIGHT,DIR:WEIGHT,... (each "
                  "sample from one dataset, shares exact to one sample)")
      ->required();
  cmd->add_option("--model", c.preset,
                  "preset: tiny, small, gpt2, gpt2-medium, gpt2-large, gpt2-xl, llama-tiny, "
                  "llama-small, llama3-1b, llama3-8b (or --init-from)");
  cmd->add_option("--init-from", c.io.init_from,
                  "a Hugging Face model folder (config.json, model.safetensors in F32, F16 or "
                  "BF16): its shape and weights start the run, with a fresh optimizer at step 0");
  args->model.add(cmd, "vocabulary (default: the data's)");
  add_layout_flags(cmd, c.layout);
  c.data.batch.global_batch = 0;  // resolve_launch_defaults
  cmd->add_option("--global-batch", c.data.batch.global_batch,
                  "sequences per optimizer step (default: --micro-batch x dp)");
  add_batch_flags(cmd, *args);
  cmd->add_option("--stop-after", c.stop_after,
                  "stop this run after N steps and checkpoint (resume later); 0: run to --steps")
      ->capture_default_str();
  cmd->add_option("--lr", c.optim.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--warmup", c.optim.warmup, "linear warmup steps")->capture_default_str();
  cmd->add_option("--min-lr", c.optim.min_lr, "floor of the cosine decay")->capture_default_str();
  cmd->add_option("--weight-decay", c.optim.adamw.weight_decay, "AdamW decay of matrices")
      ->capture_default_str();
  cmd->add_option("--grad-clip", c.optim.grad_clip, "global gradient norm limit (0: off)")
      ->capture_default_str();
  cmd->add_option("--max-skipped", c.guard.max_skipped,
                  "stop the run (exit 3, no checkpoint) after this many skipped steps in a row; "
                  "a step is skipped when its loss or gradient norm is not finite")
      ->capture_default_str();
  cmd->add_option("--skip-spikes", c.guard.skip_spikes,
                  "also skip steps whose loss exceeds the mean of the last 100 applied steps by "
                  "K standard deviations (after 20 applied steps; 0: off)")
      ->capture_default_str();
  cmd->add_option("--time-limit", c.time_limit_min,
                  "minutes of training after which the run checkpoints and stops (exit 4), as "
                  "on SIGTERM, SIGINT or SIGUSR1; 0: none")
      ->capture_default_str();
  cmd->add_option("--seed", c.data.seed, "initialisation and data order")->capture_default_str();
  cmd->add_option("--eval-every", c.data.eval_every, "validate every N steps (and at the end)")
      ->capture_default_str();
  cmd->add_option("--eval-batches", c.data.eval_batches, "micro-batches of validation windows")
      ->capture_default_str();
  add_io_flags(cmd, c.io);
  cmd->add_option("--threads", c.threads, "OpenMP and BLAS threads")->capture_default_str();
  cmd->add_option("--peak-gflops", c.peak_gflops,
                  "per rank, what MFU is against (e.g. a hardware profile's peak); default: this "
                  "machine's sgemm ceiling, measured once and cached");
  cmd->add_option("--comm-timeout", c.comm_timeout,
                  "seconds one collective may wait before the job ends with a report")
      ->capture_default_str();
  cmd->add_option("--fault-hang-rank", c.fault_hang_rank,
                  "testing aid: this dp rank stops responding at --fault-hang-step");
  cmd->add_option("--fault-hang-step", c.fault_hang_step, "testing aid: the step (1-based)");
  cmd->add_flag("--check-collectives", c.check_collectives,
                "compare every collective's op, type and size across the group before it runs");
  cmd->add_option("--fault-skip-rank", c.fault_skip_rank,
                  "testing aid: this dp rank skips the loss all-reduce of --fault-skip-step");
  cmd->add_option("--fault-skip-step", c.fault_skip_step, "testing aid: the step (1-based)");
  cmd->add_option("--fault-nan-step", c.fault_nan_step,
                  "testing aid: dp rank 0's loss gradient is NaN from this step (1-based) on");
  cmd->add_option("--fault-nan-steps", c.fault_nan_steps,
                  "testing aid: for so many steps (with --fault-nan-step)")
      ->capture_default_str();
  cmd->add_option("--config", args->config_file,
                  "a TOML file of these flags (keys without dashes; flags given here win); a run "
                  "with --ckpt-dir writes its own as run.toml");
  cmd->callback([args, &runtime, cmd] { run_train(*args, runtime, *cmd); });
}

}  // namespace parti::cli
