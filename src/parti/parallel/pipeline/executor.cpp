#include "parti/parallel/pipeline/executor.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "parti/core/check.h"

namespace parti::parallel::pipeline {

struct Executor::Slot {
  explicit Slot(int modules) : record(modules) {}
  core::Arena arena;
  model::ActivationRecord<float> record;
  model::DeferredGrads<float> deferred;
  std::vector<int32_t> tokens, targets;
  float* act_in = nullptr;   // the received input (chunks after the first)
  float* grad_in = nullptr;  // the received output gradient (chunks before the last)
  dist::Request act_request, grad_request;
  const float* out = nullptr;   // the forward's output, sent on
  const float* dinp = nullptr;  // the backward's input gradient (in the arena)
  // The input gradient as sent back: a copy outside the arena, so that the arena is free as
  // soon as the micro-batch-chunk is done, while the send may still be in flight.
  std::vector<float> outgoing;
  std::vector<dist::Request> sends;  // of the activation (complete once the gradient is back)
  dist::Request grad_send;           // of `outgoing`
  bool grad_sending = false;
  bool done = false;         // its last compute ran
  bool grad_posted = false;  // its input gradient's send is posted (or there is none)
};

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Executor::Executor(model::Model<float>& model, Schedule schedule, dist::ProcessGroup& pp, int B,
                   int T, size_t message)
    : model_(model),
      schedule_(std::move(schedule)),
      pp_(pp),
      stage_(pp.rank()),
      B_(B),
      T_(T),
      message_(message) {
  PARTI_ASSERT(pp.size() == schedule_.stages, "a pipeline group of ", pp.size(), " for ",
               schedule_.stages, " stages");
  PARTI_ASSERT(static_cast<int>(model.chunks().size()) == schedule_.virtual_stages(), "a model of ",
               model.chunks().size(), " chunks for ", schedule_.virtual_stages(),
               " virtual stages");
  reschedule(std::move(schedule_));
}

void Executor::reschedule(Schedule schedule) {
  PARTI_ASSERT(schedule.stages == pp_.size() &&
                   schedule.chunks == static_cast<int>(model_.chunks().size()) * schedule.stages,
               "a new schedule of ", schedule.stages, " stages and ", schedule.chunks, " chunks");
  PARTI_ASSERT(std::all_of(slots_.begin(), slots_.end(), [](const Slot* s) { return !s; }),
               "a new schedule while micro-batches are in flight");
  // Tags must stay below MPI's guaranteed 32767.
  PARTI_CHECK(schedule.stages == 1 || 2 * schedule.chunks * schedule.micro_batches < 32767,
              ConfigError,
              "--pp x --virtual-stages x micro-batches per step is too large for message tags (",
              schedule.chunks, " chunks x ", schedule.micro_batches, " micro-batches)");
  schedule_ = std::move(schedule);
  slots_.assign(static_cast<size_t>(schedule_.chunks * schedule_.micro_batches), nullptr);
}

Executor::~Executor() { retire_sends(true); }

int Executor::tag(int producer_chunk, int micro_batch, bool grad) const {
  return 2 * (micro_batch * schedule_.chunks + producer_chunk) + (grad ? 1 : 0);
}

Executor::Slot& Executor::slot(int micro_batch, int chunk) {
  Slot*& s = slots_[static_cast<size_t>(micro_batch * schedule_.chunks + chunk)];
  if (s == nullptr) {
    retire_sends(false);
    if (free_.empty()) {
      pool_.push_back(std::make_unique<Slot>(model_.table().modules()));
      free_.push_back(pool_.back().get());
    }
    s = free_.back();
    free_.pop_back();
    s->done = false;
    s->grad_posted = chunk == 0;
    s->act_in = s->grad_in = nullptr;
    s->out = s->dinp = nullptr;
    in_flight_ += 1;
    peak_in_flight_ = std::max(peak_in_flight_, in_flight_);
  }
  return *s;
}

void Executor::release(int micro_batch, int chunk) {
  Slot*& s = slots_[static_cast<size_t>(micro_batch * schedule_.chunks + chunk)];
  if (!s->done || !s->grad_posted) {
    return;  // the other of the two comes later
  }
  // The activation was received (its gradient came back), so its send is complete: the arena
  // is free now. Only the gradient's copy may still be on its way.
  for (auto& r : s->sends) {
    r.wait();
  }
  s->sends.clear();
  s->arena.reset();
  retiring_.push_back(s);
  s = nullptr;
  in_flight_ -= 1;
  retire_sends(false);
}

void Executor::retire_sends(bool wait) {
  for (size_t i = 0; i < retiring_.size();) {
    Slot* s = retiring_[i];
    if (s->grad_sending) {
      if (wait) {
        s->grad_send.wait();
      } else if (!s->grad_send.test()) {
        ++i;
        continue;
      }
      s->grad_sending = false;
    }
    free_.push_back(s);
    retiring_.erase(retiring_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void Executor::post_receive(const Instruction& in) {
  Slot& s = slot(in.micro_batch, in.chunk);
  const size_t n = message_;
  if (in.op == Op::recv_act) {
    s.act_in = s.arena.alloc<float>(n);
    s.act_request = pp_.irecv(s.act_in, n, in.peer, tag(in.chunk - 1, in.micro_batch, false));
  } else {
    s.grad_in = s.arena.alloc<float>(n);
    s.grad_request = pp_.irecv(s.grad_in, n, in.peer, tag(in.chunk + 1, in.micro_batch, true));
  }
}

double Executor::run(StepContext& step, float dloss) {
  events_.clear();
  if (pp_.size() > 1) {
    pp_.barrier();  // a common start: the idle shares and the trace compare stages
  }
  const Clock::time_point t0 = Clock::now();
  start_time_ = std::chrono::duration<double>(t0.time_since_epoch()).count();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  const std::vector<Instruction>& list = schedule_.per_rank[static_cast<size_t>(stage_)];
  // list[0, posted) have had their receives posted: before each instruction, those of the
  // instructions up to the second compute from here (the next compute's inputs arrive while
  // this one runs).
  size_t posted = 0;
  const auto post_ahead = [&](size_t i) {
    for (const size_t j = receive_horizon(list, i); posted < j; ++posted) {
      if (is_receive(list[posted].op)) {
        post_receive(list[posted]);
      }
    }
  };
  double loss = 0.0;
  busy_ = 0.0;
  double compute_end = 0.0;
  for (size_t i = 0; i < list.size(); ++i) {
    const Instruction& in = list[i];
    post_ahead(i);
    Slot* current = nullptr;  // the compute's slot (released by it when it is the last use)
    if (is_compute(in.op)) {
      current = &slot(in.micro_batch, in.chunk);
      for_each_live([](Slot& s) {
        s.arena.open_window();
        s.deferred.open_window();
      });
    }
    const double start = elapsed();
    switch (in.op) {
      case Op::recv_act:
      case Op::recv_grad:
      case Op::send_act:
      case Op::send_grad:
        communicate(in);
        break;
      case Op::forward:
      case Op::backward:
      case Op::backward_input:
      case Op::backward_weight:
        compute(in, step, dloss, &loss);
        break;
      case Op::reduce_grads:
        retire_sends(true);
        step.data.reduce();
        break;
      case Op::optimizer_step:
        step.optimizer_step(loss);
        break;
    }
    const double end = elapsed();
    if (is_compute(in.op)) {
      busy_ += end - start;
      compute_end = end;
      peak_live_ = std::max(peak_live_, live_bytes(*current));
    }
    events_.push_back({in, start, end});
  }
  PARTI_ASSERT(in_flight_ == 0 && retiring_.empty(), "a pipeline step ended with ", in_flight_,
               " micro-batches in flight");
  span_ = compute_end;
  if (pp_.size() > 1) {
    pp_.all_reduce(&span_, 1, dist::ReduceOp::max);
  }
  return loss;
}

void Executor::communicate(const Instruction& in) {
  const int m = in.micro_batch;
  Slot& s = slot(m, in.chunk);
  switch (in.op) {
    case Op::recv_act:
      s.act_request.wait_politely();
      break;
    case Op::recv_grad:
      s.grad_request.wait_politely();
      break;
    case Op::send_act:
      s.sends.push_back(pp_.isend(s.out, message_, in.peer, tag(in.chunk, m, false)));
      break;
    case Op::send_grad:
      s.outgoing.assign(s.dinp, s.dinp + message_);
      s.grad_send = pp_.isend(s.outgoing.data(), message_, in.peer, tag(in.chunk, m, true));
      s.grad_sending = true;
      s.grad_posted = true;
      release(m, in.chunk);
      break;
    default:
      PARTI_ASSERT(false, "not a transfer: ", format(in));
  }
}

size_t Executor::live_bytes(Slot& current) {
  // The activations alive at once: every live micro-batch's, at the peak of this compute.
  size_t live = 0;
  bool counted = false;
  for_each_live([&](Slot& s) {
    live += s.arena.window_peak() + s.deferred.window_peak() +
            (s.grad_sending ? s.outgoing.size() * sizeof(float) : 0);
    counted = counted || &s == &current;
  });
  if (!counted) {  // released at the end of this backward: its peak was still during it
    live += current.arena.window_peak() + current.deferred.window_peak();
  }
  return live;
}

void Executor::compute(const Instruction& in, StepContext& step, float dloss, double* loss) {
  const int m = in.micro_batch;
  const int local = in.chunk / schedule_.stages;  // the chunk's index among this stage's
  Slot& s = slot(m, in.chunk);
  if (in.op == Op::forward) {
    const model::Chunk& chunk = model_.chunks()[static_cast<size_t>(local)];
    if (chunk.embedding || chunk.head) {
      const size_t tokens = static_cast<size_t>(B_) * static_cast<size_t>(T_);
      s.tokens.resize(tokens);
      s.targets.resize(tokens);
      step.sample(m, s.tokens.data(), s.targets.data());
      s.record.tokens = s.tokens.data();
      s.record.targets = s.targets.data();
    }
    model::Pass<float> p = pass(step, m, s.arena, s.record);
    PARTI_ASSERT(chunk.embedding || s.act_in != nullptr, "forward of micro-batch ", m, " chunk ",
                 in.chunk, " before its input arrived");
    s.out = model_.forward_chunk(p, local, s.act_in, loss);
    return;
  }
  model::Pass<float> p = pass(step, m, s.arena, s.record);
  if (in.op == Op::backward_weight) {
    model_.backward_weight(p, s.deferred);
  } else {
    PARTI_ASSERT(in.chunk == schedule_.chunks - 1 || s.grad_in != nullptr,
                 "backward of micro-batch ", m, " chunk ", in.chunk,
                 " before its gradient arrived");
    p.deferred = in.op == Op::backward_input ? &s.deferred : nullptr;
    s.dinp = model_.backward_chunk(p, local, s.grad_in, dloss);
  }
  // The reductions this compute started are complete here (ZeRO 2-3 add each into the shard's
  // running sum, which the next one of the same unit reads).
  step.data.end_micro();
  step.data.note_backward();  // the noise scale's measurement (data_parallel.h), when on
  if (in.op == Op::backward_input) {
    return;  // W comes later
  }
  s.done = true;
  release(m, in.chunk);
}

model::Pass<float> Executor::pass(StepContext& step, int m, core::Arena& arena,
                                  model::ActivationRecord<float>& record) const {
  // With one stage the unit hooks reduce the last micro-batch's gradients during its backward;
  // a pipeline reduces them after the schedule (DataParallel knows which it is).
  model::Pass<float> p = step.data.pass(B_, T_, arena, record, m == schedule_.micro_batches - 1);
  p.workspace = step.options.workspace;
  p.recompute = step.options.recompute;
  p.cp = step.options.cp;
  p.positions = step.options.positions;
  return p;
}

double Executor::mean_seconds(Op op) const {
  double total = 0.0;
  int count = 0;
  for (const Event& e : events_) {
    if (e.what.op == op) {
      total += e.end - e.start;
      ++count;
    }
  }
  return count > 0 ? total / count : 0.0;
}

size_t Executor::activation_bytes() const {
  return std::max(peak_live_, forward_arena_.peak_bytes());
}

template <typename Fn>
void Executor::for_each_live(Fn&& fn) {
  for (Slot* s : slots_) {
    if (s != nullptr) {
      fn(*s);
    }
  }
  for (Slot* s : retiring_) {
    fn(*s);
  }
}

double Executor::forward_only(data::DataParallel& data, const PassOptions& options, int rows,
                              const int32_t* tokens, const int32_t* targets) {
  const data::DataParallel::Forward forward = data.forward_only();
  model::ActivationRecord<float> record(model_.table().modules());
  record.tokens = tokens;
  record.targets = targets;
  const int P = schedule_.stages;
  const size_t n = message_ / static_cast<size_t>(B_) * static_cast<size_t>(rows);
  double loss = 0.0;
  const float* x = nullptr;
  for (int c = 0; c < schedule_.chunks; ++c) {
    if (schedule_.stage_of(c) != stage_) {
      continue;
    }
    if (c > 0) {
      float* in = forward_arena_.alloc<float>(n);
      pp_.recv(in, n, schedule_.stage_of(c - 1), tag(c - 1, 0, false));
      x = in;
    }
    model::Pass<float> p{rows, T_, model_.table(), forward.params, nullptr, forward_arena_, record};
    p.hooks = forward.hooks;
    p.tp = forward.tp;
    p.workspace = options.workspace;
    p.cp = options.cp;
    p.positions = options.positions;
    p.counted_rows = options.counted_rows;
    x = model_.forward_chunk(p, c / P, x, &loss);
    if (c + 1 < schedule_.chunks) {
      pp_.send(x, n, schedule_.stage_of(c + 1), tag(c, 0, false));
    }
  }
  data.end_micro();  // frees what ZeRO-3 still holds gathered
  forward_arena_.reset();
  return loss;
}

}  // namespace parti::parallel::pipeline
