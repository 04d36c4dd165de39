#include "parti/train/trainer.h"

#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <ostream>
#include <sstream>
#include <thread>

#include "parti/core/check.h"
#include "parti/core/cpu.h"
#include "parti/data/sampler.h"
#include "parti/dist/mesh.h"
#include "parti/io/checkpoint.h"
#include "parti/io/files.h"
#include "parti/model/registry.h"
#include "parti/parallel/context/chunks.h"
#include "parti/parallel/pipeline/stage.h"
#include "parti/train/ceiling.h"
#include "parti/train/preempt.h"
#include "parti/train/progress.h"
#include "parti/train/resume.h"
#include "parti/train/saved_run.h"

namespace parti::train {
namespace {

// The instruction lists of a step of `batch` sequences: with one stage every schedule is 1F1B
// (each micro-batch's forward, then its backward).
parallel::pipeline::Schedule step_schedule(const parallel::Layout& l, int stages, int batch) {
  return parallel::pipeline::make_schedule(stages > 1 ? l.schedule : "1f1b", stages,
                                           l.micro_batches(batch), l.virtual_stages);
}

}  // namespace

Trainer::Trainer(TrainConfig cfg, const dist::Mesh& mesh, dist::ProcessGroup* world)
    : cfg_(std::move(cfg)),
      dp_(mesh.group(dist::Axis::dp)),
      tp_(&mesh.group(dist::Axis::tp)),
      pp_(&mesh.group(dist::Axis::pp)),
      world_(world),
      cp_(mesh.size(dist::Axis::cp) > 1 ? &mesh.group(dist::Axis::cp) : nullptr),
      grads_(mesh.group(dist::Axis::cp, dist::Axis::dp)),
      batch_(cfg_.data.batch, cfg_.model.seq_len),
      guard_(cfg_.guard) {
  PARTI_ASSERT(cp_size() == cfg_.layout.cp, "cp group of ", cp_size(), " for --cp ",
               cfg_.layout.cp);
  PARTI_ASSERT(grads_.size() == cfg_.layout.dp * cfg_.layout.cp, "dp x cp group of ",
               grads_.size());
  if (cp_ != nullptr) {
    positions_ =
        parallel::context::cp_positions(cp_->rank(), cp_->size(), cfg_.model.seq_len, true);
    cp_context_ = {cp_, cp_->size(), cp_->rank(), true, &ring_};
  }
  PARTI_ASSERT(dp_.size() == cfg_.layout.dp, "dp group of ", dp_.size(), " for --dp ",
               cfg_.layout.dp);
  PARTI_ASSERT(tp_size() == cfg_.layout.tp, "tp group of ", tp_size(), " for --tp ",
               cfg_.layout.tp);
  PARTI_ASSERT(pp_size() == cfg_.layout.pp, "pp group of ", pp_size(), " for --pp ",
               cfg_.layout.pp);
  train_ = data::open_blend(cfg_.data.dir, "train");
  val_ = data::open_blend(cfg_.data.dir, "val");
  for (const data::TokenSplit& val : val_.splits) {  // each dataset of a blend
    PARTI_CHECK(cfg_.data.eval_batches == 0 || data::window_count(val, cfg_.model.seq_len) > 0,
                ConfigError, val.where(), ": ", val.size(),
                " tokens hold no validation window of --seq-len ", cfg_.model.seq_len,
                " (+1): evaluation would measure nothing; prepare with a larger --val-fraction, "
                "lower --seq-len, or pass --eval-batches 0");
  }
  PARTI_CHECK(train_.splits[0].vocab_size() <= cfg_.model.vocab, ConfigError, "--vocab ",
              cfg_.model.vocab, " is smaller than the data's vocabulary of ",
              train_.splits[0].vocab_size(), " (", train_.splits[0].where(), ")");
  count_tp(mesh);
  build_executor();
  sampler_ = std::make_unique<data::Sampler>(train_, cfg_.model.seq_len,
                                             cfg_.data.batch.global_batch, cfg_.data.seed);
  const size_t rows = static_cast<size_t>(cfg_.layout.micro_batch);
  inputs_.resize(rows * static_cast<size_t>(local_seq()));
  targets_.resize(inputs_.size());
  if (cp_ != nullptr) {
    full_inputs_.resize(rows * static_cast<size_t>(cfg_.model.seq_len));
    full_targets_.resize(full_inputs_.size());
  }
  if (cfg_.data.batch.adaptive) {
    parallel_->measure_micro_norms(cp_);
  }
  if (cfg_.io.resume) {
    resume();
  } else {
    parallel_->init(cfg_.data.seed);
    if (!cfg_.io.init_from.empty()) {
      io::SafetensorsReader weights(cfg_.io.init_from + "/model.safetensors");
      weights.verify();
      weights.strip_prefix(model::hf_name_prefix(cfg_.model));
      parallel_->load_params(weights);
    }
  }
  if (!cfg_.io.log.empty() && is_logger()) {
    if (cfg_.io.resume) {  // steps after the checkpoint are run again: not logged twice
      io::drop_log_records_after(cfg_.io.log, step_);
    }
    log_ = io::MetricsLog(cfg_.io.log, !cfg_.io.resume);
  }
  run_id_ = new_run_id();
  const Ceiling ceiling =
      mfu_ceiling(cfg_.peak_gflops, core::threads(), machine_idle(core::threads()));
  peak_gflops_ = ceiling.gflops;
  peak_source_ = ceiling.source;
}

Trainer::~Trainer() = default;

void Trainer::count_tp(const dist::Mesh& mesh) {
  if (tp_size() > 1) {
    tp_counted_ = std::make_unique<dist::CountingGroup>(*tp_);
  }
  if (cfg_.layout.grid() > 1) {
    grid_row_ = std::make_unique<dist::CountingGroup>(mesh.grid_row());
    grid_col_ = std::make_unique<dist::CountingGroup>(mesh.grid_col());
  }
}

void Trainer::sample(int first, int rows, int32_t* inputs, int32_t* targets) {
  const auto samples = static_cast<uint64_t>(batch_.state().samples);  // before this step
  if (cp_ == nullptr) {
    sampler_->fill_samples(samples + static_cast<uint64_t>(first), rows, inputs, targets);
    return;
  }
  sampler_->fill_samples(samples + static_cast<uint64_t>(first), rows, full_inputs_.data(),
                         full_targets_.data());
  parallel::context::cp_take(positions_, cfg_.model.seq_len, full_inputs_.data(), rows, inputs);
  parallel::context::cp_take(positions_, cfg_.model.seq_len, full_targets_.data(), rows, targets);
}

parallel::data::CompressConfig Trainer::compress_config() const {
  return {parallel::data::parse_compression(cfg_.layout.grad_compress), cfg_.layout.powersgd_rank,
          cfg_.layout.powersgd_start_step, cfg_.data.seed};
}

void Trainer::build_executor() {
  namespace pipeline = parallel::pipeline;
  const int P = pp_size();
  const int V = cfg_.layout.virtual_stages;
  const int stage = pp_->rank();
  const model::TpRank tp_rank{tp_->rank(), tp_size(), cfg_.layout.grid()};
  // Chunk c of the P V lives on stage c mod P (Megatron's interleaving; V = 1: one each). One
  // stage holds the whole model as one chunk.
  std::vector<model::Chunk> mine;
  if (P > 1) {
    const std::vector<model::Chunk> all =
        model::chunks_of(pipeline::split_layers(cfg_.model, P * V, cfg_.layout.pp_layers));
    for (int c = stage; c < P * V; c += P) {
      mine.push_back(all[static_cast<size_t>(c)]);
    }
  }
  model_ = model::make_model<float>(cfg_.model, tp_rank, mine);
  parallel_ = std::make_unique<parallel::data::DataParallel>(
      *model_, grads_, cfg_.layout.zero, static_cast<size_t>(cfg_.layout.bucket_mb * 1024 * 1024),
      cfg_.optim.adamw, tp_counted_.get(), cfg_.layout.sp, compress_config());
  if (grid_row_) {
    parallel_->set_grid(*grid_row_, *grid_col_, cfg_.layout.grid(), &grid_);
  }
  if (P > 1) {
    // The first stage (lookup) and the last (output projection) each hold wte; the first's copy
    // is the one checkpoints and the norm count.
    whole_ = model::make_model<float>(cfg_.model, tp_rank);
    const bool first = stage == 0;
    const bool last = stage == P - 1;
    parallel_->set_pipeline(*pp_, whole_->table(), first ? P - 1 : last ? 0 : -1, !last);
  }
  const int B = cfg_.layout.micro_batch;
  const int T = local_seq();
  // A rank's share of the tokens between sublayers: a tp rank's under --sp, its grid row's
  // samples by a grid column's width on a grid.
  const int q = cfg_.layout.grid();
  const size_t tokens = static_cast<size_t>(B) * static_cast<size_t>(T) /
                        static_cast<size_t>(cfg_.layout.sp ? tp_size() : q * q);
  batch_now_ = batch_.next();
  executor_ =
      std::make_unique<pipeline::Executor>(*model_, step_schedule(cfg_.layout, P, batch_now_), *pp_,
                                           B, T, tokens * static_cast<size_t>(cfg_.model.dim));
}

void Trainer::observe_noise(StepStats* stats) {
  if (!cfg_.data.batch.adaptive) {
    return;
  }
  // Summed over every rank: dp x cp (disjoint micro-batches; cp counted once), tp and pp (parts).
  double squares = parallel_->micro_squares();
  for (dist::ProcessGroup* g : {&grads_, tp_, pp_}) {
    if (g != nullptr && g->size() > 1) {
      g->all_reduce(&squares, 1, dist::ReduceOp::sum);
    }
  }
  // Each micro-batch's gradient is of its tokens' loss over the step's G T: times G / B it is
  // the gradient of its own mean loss, whose squared norms the estimator averages.
  const int B = cfg_.layout.micro_batch;
  const double groups = static_cast<double>(batch_now_) / B;
  const parallel::batch::NormPair m{squares * groups, B, stats->grad_norm * stats->grad_norm,
                                    batch_now_};
  batch_.observe(m, stats->loss);
  stats->gns = batch_.state().noise.estimate();
}

void Trainer::set_batch(int batch) {
  if (batch != batch_now_) {
    executor_->reschedule(step_schedule(cfg_.layout, pp_size(), batch));
    batch_now_ = batch;
  }
}

double Trainer::step_lr() const {
  const optim::LrSchedule schedule = cfg_.schedule();
  const double lr =
      cfg_.train_tokens > 0
          ? schedule.at(static_cast<double>(batch_.state().tokens),
                        static_cast<double>(batch_.state().tokens) + tokens_per_step())
          : schedule.at(static_cast<int>(step_));
  return lr *
         optim::batch_lr_factor(cfg_.lr_batch_scaling, batch_now_, cfg_.data.batch.global_batch);
}

parallel::pipeline::PassOptions Trainer::pass_options() {
  return {&workspace_, cfg_.layout.recompute_mode(), cp_ != nullptr ? &cp_context_ : nullptr,
          cp_ != nullptr ? positions_.data() : nullptr};
}

void Trainer::run_schedule(float dloss, double lr, StepStats* stats) {
  const int B = cfg_.layout.micro_batch;
  const int dp = dp_.size();
  const double step_tokens = tokens_per_step();
  const auto optimizer_step = [&](double loss) {
    if (pp_size() > 1) {
      pp_->all_reduce(&loss, 1, dist::ReduceOp::sum);  // the last stage's
    }
    if (grads_.size() > 1 &&
        !(dp_.rank() == cfg_.fault_skip_rank && step_ + 1 == cfg_.fault_skip_step)) {
      grads_.all_reduce(&loss, 1, dist::ReduceOp::sum);  // over dp (and cp: its chunks)
    }
    stats->loss = loss / step_tokens;
    stats->stop = agreed_stop();
    stats->grad_norm = parallel_->clip(cfg_.optim.grad_clip);
    // The same all-reduced loss and norm and the same history on every rank: the same verdict.
    stats->skipped = guard_.judge(stats->loss, stats->grad_norm);
    if (stats->skipped.empty()) {
      observe_noise(stats);
      parallel_->update(lr);
    } else {
      parallel_->skip_update(!std::isfinite(stats->grad_norm));
    }
  };
  parallel::pipeline::StepContext step{*parallel_,
                                       [&](int m, int32_t* tokens, int32_t* targets) {
                                         sample((m * dp + dp_.rank()) * B, B, tokens, targets);
                                       },
                                       pass_options(), optimizer_step};
  executor_->run(step, dloss);
  if (pp_size() > 1) {
    double idle = executor_->idle_share();
    pp_idle_.assign(static_cast<size_t>(pp_size()), 0.0);
    pp_->all_gather(&idle, pp_idle_.data(), 1);
  }
  const double t0 = executor_->start_time();
  for (size_t i = 0; !cfg_.io.trace.empty() && i < executor_->events().size(); ++i) {
    const parallel::pipeline::Event& e = executor_->events()[i];
    trace(t0 + e.start, t0 + e.end, e.what);
  }
}

void Trainer::trace(double start, double end, parallel::pipeline::Instruction what) {
  if (!cfg_.io.trace.empty()) {
    trace_.push_back({start, end, what, step_ + 1});
  }
}

void Trainer::write_trace() const {
  dist::MeshShape shape;
  shape.sizes = {cfg_.layout.tp, cfg_.layout.cp, cfg_.layout.dp, cfg_.layout.pp};
  parallel::pipeline::write_trace(cfg_.io.trace, trace_, world_,
                                  [&](int rank) { return shape.describe(rank); });
}

StepStats Trainer::step() {
  if (dp_.rank() == cfg_.fault_hang_rank && step_ + 1 == cfg_.fault_hang_step) {
    std::this_thread::sleep_for(std::chrono::hours(1));  // a stuck rank (testing aid)
  }
  auto t0 = std::chrono::steady_clock::now();
  for (dist::CountingGroup* g : {tp_counted_.get(), grid_row_.get(), grid_col_.get()}) {
    if (g != nullptr) {
      g->clear();
    }
  }
  parallel_->begin_step();
  ring_ = {};
  grid_ = {};
  set_batch(batch_.next());
  const double tokens = tokens_per_step();
  auto dloss = static_cast<float>(1.0 / tokens);
  if (cfg_.fault_nan_step > 0 && dp_.rank() == 0 && step_ + 1 >= cfg_.fault_nan_step &&
      step_ + 1 < cfg_.fault_nan_step + cfg_.fault_nan_steps) {
    dloss = std::numeric_limits<float>::quiet_NaN();  // testing aid: a NaN gradient
  }
  const int dp = dp_.size();
  const double lr = step_lr();
  StepStats stats{};
  run_schedule(dloss, lr, &stats);
  comm_bytes_ = parallel_->comm_bytes();
  tp_comm_ms_ = 0.0;
  tp_bytes_ = 0.0;
  for (const dist::CountingGroup* g : {tp_counted_.get(), grid_row_.get(), grid_col_.get()}) {
    if (g != nullptr) {
      tp_comm_ms_ += g->seconds() * 1e3;
      tp_bytes_ += g->sent_elements() * sizeof(float);
    }
  }
  last_ring_ = ring_;
  last_grid_ = grid_;
  if (grads_.size() > 1) {
    const double g = grads_.size();
    comm_bytes_ += static_cast<int64_t>(2.0 * (g - 1) / g * sizeof(double));  // the loss sum
  }
  ++step_;
  batch_.advance(batch_now_);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tokens_per_s = tokens / seconds;
  // Against every rank's ceiling: each rank measured its own (with its own threads) at start.
  const double mfu =
      model_->flops_per_token(cfg_.model.seq_len) * tokens_per_s /
      (peak_gflops_ * 1e9 * static_cast<double>(dp * cp_size() * tp_size() * pp_size()));
  stats.step = step_;
  stats.lr = lr;
  stats.step_ms = seconds * 1e3;
  stats.tokens_per_s = tokens_per_s;
  stats.mfu = mfu;
  stats.global_batch = batch_now_;
  stats.tokens_seen = batch_.state().tokens;
  return stats;
}

namespace {

// Rows real .. rows - 1 of (rows, T) inputs and targets: copies of row 0.
void pad_rows(std::vector<int32_t>& inputs, std::vector<int32_t>& targets, int T, int real,
              int rows) {
  for (int r = real; r < rows; ++r) {
    std::copy_n(inputs.begin(), T, inputs.begin() + static_cast<std::ptrdiff_t>(r) * T);
    std::copy_n(targets.begin(), T, targets.begin() + static_cast<std::ptrdiff_t>(r) * T);
  }
}

}  // namespace

double Trainer::evaluate() {
  // Each dp rank evaluates its share of the micro-batches of windows; the sums are all-reduced.
  // Under ZeRO-3 every forward gathers parameters with the whole group, so every rank runs the
  // same number of forwards: one past the last batch evaluates batch 0 again and counts nothing.
  const int B = cfg_.layout.micro_batch;
  const int T = local_seq();
  const int64_t windows = data::window_count(val_, cfg_.model.seq_len);
  const int64_t batches = std::min<int64_t>(cfg_.data.eval_batches, (windows + B - 1) / B);
  const int dp = dp_.size();
  const bool gathers = parallel_->forward_only().hooks != nullptr;
  double sums[2] = {0.0, 0.0};  // loss sum, tokens
  for (int64_t round = 0; round * dp < batches; ++round) {
    const int64_t b = round * dp + dp_.rank();
    if (b >= batches && !gathers) {
      break;
    }
    const int64_t at = b < batches ? b : 0;
    // A grid's rows split a batch's samples: a short last batch is padded to a multiple of them
    // with copies of its first window, whose losses count nothing.
    const int q = cfg_.layout.grid();
    const int real = static_cast<int>(std::min<int64_t>(B, windows - at * B));
    const int rows = (real + q - 1) / q * q;
    if (cp_ != nullptr) {
      data::fill_windows(val_, cfg_.model.seq_len, at * B, real, full_inputs_.data(),
                         full_targets_.data());
      pad_rows(full_inputs_, full_targets_, cfg_.model.seq_len, real, rows);
      parallel::context::cp_take(positions_, cfg_.model.seq_len, full_inputs_.data(), rows,
                                 inputs_.data());
      parallel::context::cp_take(positions_, cfg_.model.seq_len, full_targets_.data(), rows,
                                 targets_.data());
    } else {
      data::fill_windows(val_, T, at * B, real, inputs_.data(), targets_.data());
      pad_rows(inputs_, targets_, T, real, rows);
    }
    // Through the stages: the last one's loss (summed over pp below).
    parallel::pipeline::PassOptions options = pass_options();
    options.counted_rows = real;
    const double loss =
        executor_->forward_only(*parallel_, options, rows, inputs_.data(), targets_.data());
    if (b < batches) {
      sums[0] += loss;
      sums[1] += static_cast<double>(real) * T;
    }
  }
  if (pp_size() > 1) {
    pp_->all_reduce(sums, 1, dist::ReduceOp::sum);
  }
  if (grads_.size() > 1) {
    grads_.all_reduce(sums, 2, dist::ReduceOp::sum);  // over dp and cp
  }
  return sums[1] > 0 ? sums[0] / sums[1] : 0.0;
}

Trainer::Memory Trainer::memory() const {
  const parallel::data::DataParallel::Memory m = parallel_->memory();
  return {m.params,
          m.grads,
          m.optim,
          executor_->activation_bytes(),
          m.gathered,
          m.staged,
          workspace_.peak_bytes(),
          m.compress};
}

void Trainer::max_over_ranks(double* values, size_t count) {
  // dp x cp, then tp, then pp: their product is every rank of the job.
  for (dist::ProcessGroup* g : {&grads_, tp_, pp_}) {
    if (g != nullptr && g->size() > 1) {
      g->all_reduce(values, count, dist::ReduceOp::max);
    }
  }
}

double Trainer::max_over_ranks(double value) {
  max_over_ranks(&value, 1);
  return value;
}

bool Trainer::state_finite() {
  double bad = parallel_->finite() ? 0.0 : 1.0;
  return max_over_ranks(bad) == 0.0;
}

void Trainer::print_header(std::ostream& out) const {
  const nlohmann::ordered_json resolved = to_json(cfg_);
  out << "configuration:\n";
  for (const auto& [key, value] : resolved.items()) {
    out << fmt::format("  {:<14} {}\n", key, value.dump());
  }
  out << "compute: " << core::describe_compute()
      << fmt::format("; MFU against {:.1f} GFLOP/s per rank ({})\n", peak_gflops_, peak_source_);
  out << "run: " << run_id_ << (cfg_.io.log.empty() ? "" : ", logged to " + cfg_.io.log) << "\n";
  if (!cfg_.io.ckpt_dir.empty() && is_logger()) {
    io::make_dirs(cfg_.io.ckpt_dir);
    io::write_text_atomically(cfg_.io.ckpt_dir + "/config.json", resolved.dump(2) + "\n");
  }
  for (const std::string& why : passed_over_) {
    out << "warning: checkpoint passed over: " << why << "\n";
  }
  if (!resumed_from_.empty()) {
    out << "resumed at step " << step_ << " from " << resumed_from_ << "\n";
    if (cfg_.layout.grad_compress == "powersgd" && !compression_resumed_) {
      out << "PowerSGD: the checkpoint holds no state for this layout and rank (another --dp, "
             "--tp, --pp, --powersgd-rank or compression); residuals restart at zero, Q from "
             "the seed\n";
    }
  }
  if (pp_size() > 1) {
    namespace pipeline = parallel::pipeline;
    const pipeline::Schedule& schedule = executor_->schedule();
    const pipeline::Simulation sim = pipeline::simulate(schedule);
    const std::vector<int> split =
        pipeline::split_layers(cfg_.model, schedule.chunks, cfg_.layout.pp_layers);
    std::string layers;
    for (int n : split) {
      layers += (layers.empty() ? "" : ",") + std::to_string(n);
    }
    out << fmt::format(
        "pipeline: --schedule {} over {} stages x {} chunks, {} micro-batches per step, blocks "
        "per chunk {}; simulated bubble {:.3f} (unit costs)\n",
        schedule.name, schedule.stages, schedule.virtual_stages(), schedule.micro_batches, layers,
        sim.bubble());
    out << pipeline::render(schedule, sim);
  }
}

void Trainer::add_pipeline_record(nlohmann::ordered_json& record) const {
  if (pp_size() == 1) {
    return;
  }
  record["pp_idle"] = pp_idle_;
  record["pp_peak_in_flight"] = executor_->peak_in_flight();
  // Mean milliseconds of this stage's F, B, I, W (the costs `parti schedule --costs` takes).
  nlohmann::ordered_json costs;
  namespace pipeline = parallel::pipeline;
  for (const auto& [op, key] : {std::pair{pipeline::Op::forward, "F"},
                                {pipeline::Op::backward, "B"},
                                {pipeline::Op::backward_input, "I"},
                                {pipeline::Op::backward_weight, "W"}}) {
    if (executor_->mean_seconds(op) > 0) {
      costs[key] = executor_->mean_seconds(op) * 1e3;
    }
  }
  record["pp_cost_ms"] = costs;
}

nlohmann::ordered_json Trainer::step_record(const StepStats& s) const {
  // JSON has no NaN or infinity: such a loss or norm is written as null.
  const auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::ordered_json(v) : nullptr;
  };
  nlohmann::ordered_json record = {{"run", run_id_},
                                   {"time", utc_now()},
                                   {"elapsed_s", s.elapsed_s},
                                   {"step", s.step},
                                   {"loss", number(s.loss)},
                                   {"lr", s.lr},
                                   {"grad_norm", number(s.grad_norm)},
                                   {"step_ms", s.step_ms},
                                   {"tokens_per_s", s.tokens_per_s},
                                   {"mfu", s.mfu},
                                   {"skipped", !s.skipped.empty()},
                                   {"global_batch", s.global_batch},
                                   {"tokens_seen", s.tokens_seen}};
  record["rss_bytes"] = resident_bytes();
  if (cfg_.data.batch.adaptive) {
    record["gns"] = s.gns;  // the smoothed noise scale after this step (sequences)
  }
  if (!s.skipped.empty()) {
    record["skip_reason"] = s.skipped;
  }
  const Memory mem = memory();
  record["mem_params"] = mem.params;
  record["mem_grads"] = mem.grads;
  record["mem_optim"] = mem.optim;
  record["mem_activations"] = mem.activations;
  record["mem_gathered"] = mem.gathered;
  record["mem_staged"] = mem.staged;
  record["mem_workspace"] = mem.workspace;
  record["mem_compress"] = mem.compress;
  record["comm_bytes"] = comm_bytes_;
  if (tp_size() > 1) {
    record["tp_comm_ms"] = tp_comm_ms_;
    record["tp_bytes"] = tp_bytes_;
  }
  if (grid_row_) {
    // The SUMMA products of the step: their time, the waits for transfers posted a step ahead
    // (what was not hidden behind a product), and how many transfers were done before needed.
    record["tp_grid"] = {{"compute_ms", last_grid_.compute_s * 1e3},
                         {"wait_ms", last_grid_.wait_s * 1e3},
                         {"transfers", last_grid_.transfers},
                         {"hidden", last_grid_.hidden}};
  }
  if (cp_ != nullptr) {
    // Ring attention in the step, forward and backward: its arithmetic, the waits for
    // transfers after it (not hidden), backward's final hand-off of each block's dK/dV, bytes
    // sent, (query, key) chunk pairs computed and skipped (per row and head).
    record["cp_ring"] = {{"compute_ms", last_ring_.compute_s * 1e3},
                         {"wait_ms", last_ring_.wait_s * 1e3},
                         {"tail_ms", last_ring_.tail_s * 1e3},
                         {"transfers", last_ring_.transfers},
                         {"hidden", last_ring_.hidden},
                         {"bytes", last_ring_.bytes_sent},
                         {"attention_gflop", last_ring_.flops * 1e-9},
                         {"pairs", last_ring_.pairs},
                         {"skipped", last_ring_.skipped}};
  }
  add_pipeline_record(record);
  if (grads_.size() > 1 && parallel_->stage() <= 1) {
    size_t early = 0;
    for (const auto& b : parallel_->reducer().buckets()) {
      early += b.done_in_backward ? 1 : 0;
    }
    record["buckets"] = parallel_->reducer().buckets().size();
    record["buckets_done_in_backward"] = early;
  }
  return record;
}

std::string Trainer::step_line(const StepStats& s) const {
  const std::string of = cfg_.train_tokens > 0
                             ? fmt::format("{:>5} ({:.1f}% of tokens)", s.step,
                                           100.0 * static_cast<double>(s.tokens_seen) /
                                               static_cast<double>(cfg_.train_tokens))
                             : fmt::format("{:>5}/{}", s.step, cfg_.steps);
  std::string line = fmt::format(
      "step {} | loss {:.4f} | lr {:.2e} | norm {:.3f} | {:.1f} ms | {:.0f} tok/s | MFU {:.1f}%",
      of, s.loss, s.lr, s.grad_norm, s.step_ms, s.tokens_per_s, 100 * s.mfu);
  line += fmt::format(" | {} tok | {}", count(s.tokens_seen), duration(s.elapsed_s));
  if (s.eta_s >= 0) {
    line += ", ETA " + duration(s.eta_s);
  }
  line += fmt::format(" | {:.2f} GiB", static_cast<double>(resident_bytes()) / (1 << 30));
  if ((cfg_.data.batch.ramps() || cfg_.data.batch.adaptive) &&
      s.global_batch != last_batch_) {  // the first, each change
    line += fmt::format(" | batch {}", s.global_batch);
  }
  if (!s.skipped.empty()) {
    line += " | skipped: " + s.skipped;
  }
  return line;
}

int Trainer::agreed_stop() {
  // A signal's number, or kTimeLimit; the maximum over the step's groups (a product: the max over
  // every rank), so a signal that reached one rank stops them all after the same step. Reduced
  // over the groups the step already uses, right after the loss: a fresh communicator (the
  // world's) would reorder the collectives --check-collectives compares.
  constexpr double kTimeLimit = 1000;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  double stop = signals_ != nullptr ? signals_->received() : 0;
  if (stop == 0 && cfg_.time_limit_min > 0 && seconds >= 60.0 * cfg_.time_limit_min) {
    stop = kTimeLimit;
  }
  // With it, whether an asynchronous save's writes are done everywhere (and failed anywhere).
  const bool writing = save_pending_ && !writer_->written();
  const bool failed = save_pending_ && writer_->failed();
  double agreed[3] = {stop, writing ? 1.0 : 0.0, failed ? 1.0 : 0.0};
  max_over_ranks(agreed, 3);
  saves_written_ = agreed[1] == 0.0;
  save_failed_ = agreed[2] > 0.0;
  return static_cast<int>(agreed[0]);
}

void Trainer::fill_progress(StepStats& s, int64_t first_step, int64_t first_tokens,
                            int64_t last) const {
  s.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  s.eta_s = cfg_.train_tokens > 0
                ? eta_seconds(s.elapsed_s, static_cast<double>(s.tokens_seen - first_tokens),
                              static_cast<double>(cfg_.train_tokens - s.tokens_seen))
                : eta_seconds(s.elapsed_s, static_cast<double>(s.step - first_step),
                              static_cast<double>(std::min<int64_t>(cfg_.steps, last) - s.step));
}

void Trainer::run(std::ostream& all_out) {
  // Rank 0 prints and logs; the other ranks compute in silence.
  std::ostringstream discard;
  std::ostream& out = is_logger() ? all_out : discard;
  print_header(out);
  // --stop-after N: this run's last step (the run's own end may come first).
  const int64_t last =
      cfg_.stop_after > 0 ? step_ + cfg_.stop_after : std::numeric_limits<int64_t>::max();
  const StopSignals signals;
  signals_ = &signals;
  started_ = std::chrono::steady_clock::now();
  bool ckpt_due = false;
  auto step_end = std::chrono::steady_clock::now();
  const int64_t first_step = step_;
  const int64_t first_tokens = batch_.state().tokens;
  while (!finished() && step_ < last) {
    StepStats s = step();
    fill_progress(s, first_step, first_tokens, last);
    const bool end = finished() || s.step == last;  // this run's last step
    nlohmann::ordered_json record = step_record(s);
    // Since the last step's end: this step, and what ran between (an evaluation, a save).
    const auto now = std::chrono::steady_clock::now();
    record["wall_ms"] = std::chrono::duration<double, std::milli>(now - step_end).count();
    step_end = now;
    std::string line = step_line(s);
    last_batch_ = s.global_batch;
    poll_save(out);
    if (!s.skipped.empty() && guard_.exhausted()) {
      out << line << std::endl;
      log_.write(record);
      drain_save(out);  // a save in flight holds the last good state
      throw RunStopped(str_cat(guard_.skipped_in_row(), " steps in a row skipped (--max-skipped ",
                               cfg_.guard.max_skipped, "), the last at step ", s.step, ": ",
                               s.skipped, ". No checkpoint written",
                               cfg_.io.ckpt_dir.empty() ? ""
                                                        : "; the latest in " + cfg_.io.ckpt_dir +
                                                              " is the last good state",
                               ". Lower --lr, raise --warmup or check the data."),
                       kExitDiverged);
    }
    const bool eval_now =
        cfg_.data.eval_batches > 0 &&
        ((cfg_.data.eval_every > 0 && s.step % cfg_.data.eval_every == 0) || finished());
    if (eval_now) {
      const double val = evaluate();
      record["val_loss"] = val;
      line += fmt::format(" | val {:.4f}", val);
    }
    out << line << std::endl;
    log_.write(record);
    const int stop = s.stop;
    // A checkpoint due at a skipped step waits for the next applied one (or the run's end, or a
    // stop): `latest` stays at the state before the trouble while the guard is skipping.
    ckpt_due = ckpt_due || (!cfg_.io.ckpt_dir.empty() &&
                            ((cfg_.io.ckpt_every > 0 && s.step % cfg_.io.ckpt_every == 0) || end));
    if ((ckpt_due && (s.skipped.empty() || end)) || (stop != 0 && !cfg_.io.ckpt_dir.empty())) {
      checkpoint(out);
      ckpt_due = false;
    }
    if (stop != 0) {
      drain_save(out);
      const std::string dir = last_checkpoint_;
      signals_ = nullptr;
      finish(out);
      throw RunStopped(str_cat(stop < 1000 ? str_cat("preempted by ", signal_name(stop))
                                           : str_cat("--time-limit of ", cfg_.time_limit_min,
                                                     " minutes reached"),
                               " after step ", s.step, ": ",
                               dir.empty() ? "no checkpoint written (no --ckpt-dir)"
                                           : "checkpoint " + dir + "; continue with --resume"),
                       kExitPreempted);
    }
  }
  drain_save(out);
  signals_ = nullptr;
  finish(out);
}

void Trainer::finish(std::ostream& out) const {
  if (!cfg_.io.trace.empty()) {
    write_trace();
    out << "trace: " << cfg_.io.trace << " (open in ui.perfetto.dev)" << std::endl;
  }
}

}  // namespace parti::train
