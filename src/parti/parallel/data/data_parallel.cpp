#include "parti/parallel/data/data_parallel.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "parti/core/check.h"
#include "parti/kernels/elementwise.h"
#include "parti/kernels/reduce.h"
#include "parti/optim/grad_clip.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::parallel::data {

// Buffers for gathered units or staged gradients, reused: take() hands out the smallest free one
// that is large enough and at most twice the size (allocating when none is), so that a block
// never occupies the buffer a vocabulary table will want: which buffers are free depends on
// when reductions complete, and without the size bound the high-water mark did too (one or two
// tables). bytes() is the high-water mark.
class DataParallel::Pool {
 public:
  float* take(size_t n) {
    Buffer* best = nullptr;
    for (auto& b : buffers_) {
      if (!b->busy && b->data.size() >= n && b->data.size() <= 2 * n &&
          (best == nullptr || b->data.size() < best->data.size())) {
        best = b.get();
      }
    }
    if (best == nullptr) {
      buffers_.push_back(std::make_unique<Buffer>());
      best = buffers_.back().get();
      best->data.resize(n);
    }
    best->busy = true;
    return best->data.data();
  }
  void give(const float* p) {
    for (auto& b : buffers_) {
      if (b->data.data() == p) {
        b->busy = false;
        return;
      }
    }
    PARTI_ASSERT(false, "returning a buffer the pool does not own");
  }
  size_t bytes() const {
    size_t n = 0;
    for (const auto& b : buffers_) {
      n += b->data.size() * sizeof(float);
    }
    return n;
  }

 private:
  struct Buffer {
    std::vector<float> data;
    bool busy = false;
  };
  std::vector<std::unique_ptr<Buffer>> buffers_;
};

struct DataParallel::InFlight {
  Kind kind;
  int unit;
  float* buffer;  // the staged gradients a reduce-scatter reads (back to the pool when done)
  dist::Request request;
  // --grad-compress bf16: the words on the wire, and the fp32 sum into the shard once they
  // arrived (before `buffer` goes back).
  std::vector<uint16_t> out16, in16;
  std::function<void()> finish;
};

namespace {

// At most this many gradient reductions overlap the backward; more would only hold buffers
// (without a progress thread they advance when MPI is called, i.e. at the polls).
constexpr int kInFlight = 2;

std::unique_ptr<BucketReduction> make_reduction(const CompressConfig& c, dist::ProcessGroup& dp,
                                                const model::ParamTable& table) {
  switch (c.kind) {
    case Compression::bf16:
      return make_bf16_reduction(dp);
    case Compression::powersgd:
      return std::make_unique<PowerSgd>(dp, table, c.rank, c.start_step, c.seed);
    case Compression::none:
      break;
  }
  return make_plain_reduction(dp);
}

}  // namespace

DataParallel::DataParallel(const model::Model<float>& model, dist::ProcessGroup& dp, int zero,
                           size_t bucket_bytes, const optim::AdamWConfig& adamw,
                           dist::ProcessGroup* tp, bool sp, const CompressConfig& compress)
    : model_(model),
      table_(model.table()),
      dp_(dp),
      tp_(tp),
      tp_context_(tp != nullptr ? tensor::make_tensor_parallel(*tp, sp) : tensor::TensorParallel{}),
      stage_(dp.size() > 1 ? zero : 0),
      layout_(model.units(), dp.size(), dp.rank()),
      compress_(compress),
      reduction_(make_reduction(compress, dp, model.table())),
      reducer_(*reduction_, bucket_bytes),
      gather_pool_(std::make_unique<Pool>()),
      stage_pool_(std::make_unique<Pool>()) {
  PARTI_ASSERT(zero >= 0 && zero <= 3, "ZeRO stage ", zero);
  // The layout's rules (parallel/layout.h) let neither this nor ZeRO-2/3 with pp through.
  PARTI_ASSERT(compress.kind != Compression::powersgd || stage_ <= 1, "PowerSGD with ZeRO-",
               stage_);
  PARTI_ASSERT(table_.tp().size == (tp != nullptr ? tp->size() : 1), "a model built for tp ",
               table_.tp().size, " with a tp group of ", tp != nullptr ? tp->size() : 1);
  const auto units = static_cast<size_t>(layout_.count());
  gathered_.assign(units, nullptr);
  staged_.assign(units, nullptr);
  for (int u = 0; u < layout_.count(); ++u) {
    if (layout_.owned(u) > 0) {
      owned_units_.push_back(u);
    }
    if (u != model.embedding_unit()) {
      piece_ = std::max(piece_, layout_.unit(u).size());
    }
  }
  // Pieces of the embeddings are whole rows, about the size of the largest other unit.
  if (model.embedding_unit() >= 0) {
    const size_t row = layout_.unit(model.embedding_unit()).granule;
    piece_ = std::max(row, piece_ / row * row);
  }
  if (stage_ == 0) {
    adamw_ = std::make_unique<optim::AdamW<float>>(table_, adamw);
  } else {
    adamw_ = std::make_unique<optim::AdamW<float>>(table_, adamw, layout_.segments());
  }
  if (stage_ <= 2) {
    params_.assign(table_.total(), 0.0f);
  } else {
    shard_params_.assign(layout_.shard_size(), 0.0f);
  }
  if (stage_ <= 1) {
    grads_.assign(table_.total(), 0.0f);
  } else {
    shard_grads_.assign(layout_.shard_size(), 0.0f);
  }
}

DataParallel::~DataParallel() = default;

std::vector<float>& DataParallel::params() {
  PARTI_ASSERT(stage_ <= 2, "ZeRO-3 holds no full parameters");
  return params_;
}

void DataParallel::init(uint64_t seed) {
  const int layers = model_.config().layers;
  if (stage_ <= 2) {
    table_.init_values<float>(params_.data(), seed, layers);
    return;
  }
  for (int u : owned_units_) {
    const size_t begin = layout_.owned_begin(u);
    table_.init_range<float>(shard_params_.data() + layout_.shard_offset(u), begin,
                             begin + layout_.owned(u), seed, layers);
  }
}

void DataParallel::set_pipeline(dist::ProcessGroup& pp, const model::ParamTable& whole,
                                int tied_peer, bool tied_owner) {
  pp_ = &pp;
  whole_ = &whole;
  // An untied model (Llama's default) has no copy to exchange: every stage owns what it holds.
  const bool tied = model_.tied_param() >= 0;
  tied_peer_ = tied ? tied_peer : -1;
  tied_owner_ = tied ? tied_owner : true;
}

void DataParallel::reduce() {
  if (pp_ == nullptr && !measuring_) {
    return;  // one stage: the unit hooks reduced the gradients during backward
  }
  if (stage_ <= 1 && dp_.size() > 1) {
    reducer_.begin(grads_.data());
    reducer_.ready(0, grads_.size());
    reducer_.finish();
  }
  if (tied_peer_ < 0) {
    return;
  }
  // The tied embedding's two copies: the whole gradient (ZeRO 0-1), or this rank's block of it
  // (ZeRO 2-3: wte is a unit of its own on both stages, cut alike, so the blocks match).
  float* mine = nullptr;
  size_t n = 0;
  if (stage_ <= 1) {
    const model::ParamSpec& wte = table_.spec(model_.tied_param());
    mine = grads_.data() + wte.offset;
    n = wte.numel;
  } else {
    const int unit = tied_unit();
    mine = shard_grads_.data() + layout_.shard_offset(unit);
    n = layout_.owned(unit);
  }
  tied_.resize(n);
  dist::Request recv = pp_->irecv(tied_.data(), n, tied_peer_, 0);
  dist::Request send = pp_->isend(mine, n, tied_peer_, 0);
  recv.wait_politely();  // the other stages may still compute on this node's cores
  send.wait_politely();
  // Both copies end as (first stage's + last stage's): the same sum, bit for bit, on both.
  // Summed into a copy first: `mine` is what the send reads until it completes.
  const float* first = tied_owner_ ? mine : tied_.data();
  const float* last = tied_owner_ ? tied_.data() : mine;
  kernels::add<float>(tied_.data(), first, last, n);
  std::copy(tied_.begin(), tied_.end(), mine);
  comm_bytes_ += static_cast<int64_t>(n * sizeof(float));
}

int DataParallel::tied_unit() const {
  const model::ParamSpec& tied = table_.spec(model_.tied_param());
  for (int u = 0; u < layout_.count(); ++u) {
    if (layout_.unit(u).begin == tied.offset) {
      PARTI_ASSERT(layout_.unit(u).end >= tied.offset + tied.numel &&
                       layout_.unit(u).size() < tied.numel + 16,
                   "the tied parameter is not a unit of its own");
      return u;
    }
  }
  PARTI_ASSERT(false, "no unit starts at the tied parameter");
  return -1;
}

void DataParallel::begin_step() {
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  std::fill(last_grads_.begin(), last_grads_.end(), 0.0f);
  micro_squares_ = 0.0;
  std::fill(shard_grads_.begin(), shard_grads_.end(), 0.0f);
  comm_bytes_ = 0;
  reduction_mark_ = reduction_->bytes_sent();
  reduction_->set_step(adamw_->step());
}

int64_t DataParallel::comm_bytes() const {
  return comm_bytes_ + (reduction_->bytes_sent() - reduction_mark_);
}

model::Pass<float> DataParallel::pass(int B, int T, core::Arena& arena,
                                      model::ActivationRecord<float>& record, bool last_micro) {
  model::Pass<float> p{B, T, table_, params_.data(), grads_.data(), arena, record};
  p.tp = tp_context();
  if (stage_ <= 1) {
    // A pipeline reduces after the schedule (reduce()), not unit by unit during backward.
    reducing_ = dp_.size() > 1 && last_micro && pp_ == nullptr && !measuring_;
    if (reducing_) {
      reducer_.begin(grads_.data());
      p.hooks = this;
    }
    return p;
  }
  reducing_ = true;
  p.hooks = this;
  p.grads = nullptr;  // each unit's staged gradients, set by enter()
  if (stage_ == 3) {
    p.params = nullptr;  // each unit's gathered parameters, likewise
  }
  return p;
}

DataParallel::Forward DataParallel::forward_only() {
  reducing_ = false;
  if (stage_ == 3) {
    return {nullptr, this, tp_context()};
  }
  return {params_.data(), nullptr, tp_context()};
}

void DataParallel::enter(model::Pass<float>& pass, int unit, model::Use use, int next) {
  if (stage_ <= 1) {
    reducer_.ready(0, 0);  // progress of the buckets already started
    return;
  }
  poll();
  const Unit& u = layout_.unit(unit);
  if (stage_ == 3 && use != model::Use::grads_only) {
    PARTI_ASSERT(!params_by_pieces(unit), "unit ", unit, " is handed by pieces, not entered");
    pass.params = gathered(unit);
    pass.params_origin = u.begin;
    if (next >= 0 && next != unit && !params_by_pieces(next) &&
        gathered_[static_cast<size_t>(next)] == nullptr) {
      start_gather(next);  // prefetch: it arrives while this unit computes
    }
    next_ = next;
  }
  if (model::writes_grads(use) && reducing_ && !by_pieces(unit)) {
    float*& staged = staged_[static_cast<size_t>(unit)];
    if (staged == nullptr) {
      while (count_in_flight(Kind::reduce) >= kInFlight) {
        finish_oldest(Kind::reduce);
      }
      staged = stage_pool_->take(u.size());
      std::fill(staged, staged + u.size(), 0.0f);
    }
    pass.grads = staged;
    pass.grads_origin = u.begin;
  }
}

void DataParallel::leave(model::Pass<float>& /*pass*/, int unit, model::Use use, bool final) {
  const Unit& u = layout_.unit(unit);
  if (stage_ <= 1) {
    if (final && model::writes_grads(use)) {
      reducer_.ready(u.begin, u.end);
    }
    return;
  }
  if (stage_ == 3 && use != model::Use::grads_only && next_ != unit) {
    release_gathered(unit);
  }
  if (final && model::writes_grads(use) && reducing_ && !by_pieces(unit)) {
    if (measuring_) {
      add_micro_squares(staged_[static_cast<size_t>(unit)], u.begin, u.end);
    }
    reduce_scatter(unit);
  }
  poll();
}

void DataParallel::set_grid(dist::ProcessGroup& row, dist::ProcessGroup& col, int q,
                            tensor::GridStats* stats) {
  PARTI_ASSERT(tp_ != nullptr && table_.tp().block() && table_.tp().grid == q,
               "a grid for a model built without it");
  tp_context_ = tensor::make_block_parallel(*tp_, row, col, q);
  tp_context_.stats = stats;
}

bool DataParallel::by_pieces(int unit) const {
  return stage_ >= 2 && reducing_ && unit == model_.embedding_unit() && !table_.tp().block();
}

std::vector<DataParallel::Piece> DataParallel::pieces(int unit) const {
  const Unit& u = layout_.unit(unit);
  const size_t block = layout_.block(unit);
  std::vector<Piece> out;
  for (int owner = 0; owner < dp_.size(); ++owner) {
    const size_t first = std::min(u.end, u.begin + static_cast<size_t>(owner) * block);
    const size_t last = std::min(u.end, first + block);
    for (size_t lo = first; lo < last; lo += piece_) {
      out.push_back({lo, std::min(last, lo + piece_), owner});
    }
  }
  return out;
}

void DataParallel::reduce_by_pieces(model::Pass<float>& /*pass*/, int unit, const PieceFn& grad) {
  const size_t own_first = layout_.owned_begin(unit);
  for (const Piece& p : pieces(unit)) {
    while (count_in_flight(Kind::reduce) >= kInFlight) {
      finish_oldest(Kind::reduce);
    }
    const size_t n = p.end - p.begin;
    float* staged = stage_pool_->take(n);
    grad(p.begin, p.end, staged);
    if (measuring_) {
      add_micro_squares(staged, p.begin, p.end);
    }
    float* shard = nullptr;
    if (p.owner == dp_.rank()) {  // the running sum joins through the owner's contribution
      shard = shard_grads_.data() + layout_.shard_offset(unit) + (p.begin - own_first);
      for (size_t i = 0; i < n; ++i) {
        staged[i] += shard[i];
      }
    }
    auto flight = std::make_unique<InFlight>();
    flight->kind = Kind::reduce;
    flight->unit = unit;
    flight->buffer = staged;
    if (compress_.kind == Compression::bf16) {
      // The owner gathers everyone's piece as bf16 and sums in fp32 (its own unrounded).
      const auto P = static_cast<size_t>(dp_.size());
      flight->out16.resize(n);
      for (size_t i = 0; i < n; ++i) {
        flight->out16[i] = to_bf16(staged[i]);
      }
      if (shard != nullptr) {
        flight->in16.resize(P * n);
        InFlight* f = flight.get();
        const auto me = static_cast<size_t>(dp_.rank());
        flight->finish = [f, staged, shard, n, P, me] {
          for (size_t i = 0; i < n; ++i) {
            float sum = 0.0f;
            for (size_t r = 0; r < P; ++r) {
              sum += r == me ? staged[i] : from_bf16(f->in16[r * n + i]);
            }
            shard[i] = sum;
          }
        };
      }
      flight->request = dp_.igather(flight->out16.data(), flight->in16.data(), n, p.owner);
      count_ring(0.5, n);
    } else {
      flight->request = dp_.ireduce(staged, shard, n, p.owner);
      count_ring(1.0, n);
    }
    in_flight_.push_back(std::move(flight));
    poll();
  }
}

bool DataParallel::params_by_pieces(int unit) const {
  return stage_ == 3 && unit == model_.embedding_unit() && !table_.tp().block();
}

void DataParallel::visit_params(model::Pass<float>& /*pass*/, int unit, const ParamsFn& fn) {
  const std::vector<Piece> all = pieces(unit);
  const size_t own_first = layout_.owned_begin(unit);
  float* buffers[2] = {gather_pool_->take(piece_), gather_pool_->take(piece_)};
  dist::Request requests[2];
  auto start = [&](size_t i) {
    const Piece& p = all[i];
    float* buffer = buffers[i % 2];
    if (p.owner == dp_.rank()) {
      const float* shard =
          shard_params_.data() + layout_.shard_offset(unit) + (p.begin - own_first);
      std::copy(shard, shard + (p.end - p.begin), buffer);
    }
    requests[i % 2] = dp_.ibroadcast(buffer, p.end - p.begin, p.owner);
    count_ring(1.0, p.end - p.begin);
  };
  if (!all.empty()) {
    start(0);
  }
  for (size_t i = 0; i < all.size(); ++i) {
    requests[i % 2].wait();
    if (i + 1 < all.size()) {
      start(i + 1);  // the other buffer, free since piece i - 1 was used
    }
    fn(all[i].begin, all[i].end, buffers[i % 2]);
    poll();
  }
  gather_pool_->give(buffers[0]);
  gather_pool_->give(buffers[1]);
}

void DataParallel::count_ring(double factor, size_t elements) {
  const double p = dp_.size();
  comm_bytes_ +=
      static_cast<int64_t>(factor * (p - 1) / p * static_cast<double>(elements) * sizeof(float));
}

void DataParallel::start_gather(int unit) {
  const Unit& u = layout_.unit(unit);
  float* buffer = gather_pool_->take(u.size());
  gathered_[static_cast<size_t>(unit)] = buffer;
  auto flight = std::make_unique<InFlight>();
  flight->kind = Kind::gather;
  flight->unit = unit;
  flight->buffer = buffer;
  flight->request = dp_.iall_gather_v(shard_params_.data() + layout_.shard_offset(unit), buffer,
                                      layout_.block(unit), u.size());
  in_flight_.push_back(std::move(flight));
  count_ring(1.0, u.size());
}

float* DataParallel::gathered(int unit) {
  if (gathered_[static_cast<size_t>(unit)] == nullptr) {
    start_gather(unit);
  }
  for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
    if ((*it)->kind == Kind::gather && (*it)->unit == unit) {
      (*it)->request.wait();
      in_flight_.erase(it);
      break;
    }
  }
  return gathered_[static_cast<size_t>(unit)];
}

void DataParallel::release_gathered(int unit) {
  float*& buffer = gathered_[static_cast<size_t>(unit)];
  if (buffer != nullptr) {
    gather_pool_->give(buffer);
    buffer = nullptr;
  }
}

void DataParallel::reduce_scatter(int unit) {
  const Unit& u = layout_.unit(unit);
  float*& staged = staged_[static_cast<size_t>(unit)];
  PARTI_ASSERT(staged != nullptr, "reduce-scatter of unit ", unit, " without gradients");
  // Earlier micro-batches' sum joins through this rank's own block of the input, so the result
  // written over the shard is the running total.
  float* shard = shard_grads_.data() + layout_.shard_offset(unit);
  float* mine = staged + (layout_.owned_begin(unit) - u.begin);
  for (size_t i = 0; i < layout_.owned(unit); ++i) {
    mine[i] += shard[i];
  }
  auto flight = std::make_unique<InFlight>();
  flight->kind = Kind::reduce;
  flight->unit = unit;
  flight->buffer = staged;
  if (compress_.kind == Compression::bf16) {
    // All-to-all of the bf16 blocks (padded to equal ones); the owner sums its block in fp32.
    const auto P = static_cast<size_t>(dp_.size());
    const size_t block = layout_.block(unit);
    flight->out16.assign(P * block, 0);
    flight->in16.assign(P * block, 0);
    for (size_t i = 0; i < u.size(); ++i) {
      flight->out16[i] = to_bf16(staged[i]);
    }
    InFlight* f = flight.get();
    const auto me = static_cast<size_t>(dp_.rank());
    const size_t owned = layout_.owned(unit);
    flight->finish = [f, mine, shard, owned, block, P, me] {
      for (size_t i = 0; i < owned; ++i) {
        float sum = 0.0f;
        for (size_t r = 0; r < P; ++r) {
          sum += r == me ? mine[i] : from_bf16(f->in16[r * block + i]);
        }
        shard[i] = sum;
      }
    };
    flight->request = dp_.iall_to_all(flight->out16.data(), flight->in16.data(), block);
    count_ring(0.5, P * block);
  } else {
    flight->request = dp_.ireduce_scatter_v(staged, shard, layout_.block(unit), u.size());
    count_ring(1.0, u.size());
  }
  in_flight_.push_back(std::move(flight));
  staged = nullptr;
}

void DataParallel::complete(InFlight& f) {
  if (f.finish) {
    f.finish();
  }
  if (f.kind == Kind::reduce) {
    stage_pool_->give(f.buffer);
  }
}

void DataParallel::poll() {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    InFlight& f = **it;
    if (f.kind == Kind::reduce && f.request.test()) {
      complete(f);
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
}

int DataParallel::count_in_flight(Kind kind) const {
  int n = 0;
  for (const auto& f : in_flight_) {
    n += f->kind == kind ? 1 : 0;
  }
  return n;
}

void DataParallel::finish_oldest(Kind kind) {
  for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
    if ((*it)->kind == kind) {
      (*it)->request.wait();
      complete(**it);
      in_flight_.erase(it);
      return;
    }
  }
}

void DataParallel::end_micro() {
  if (stage_ <= 1) {
    if (reducing_) {
      reducer_.finish();
    }
    reducing_ = false;
    return;
  }
  for (auto& f : in_flight_) {
    f->request.wait();
    complete(*f);
  }
  in_flight_.clear();
  for (int u = 0; u < layout_.count(); ++u) {
    release_gathered(u);
  }
  reducing_ = false;
}

double DataParallel::clip(double max_norm) {
  // Sum of squares of what this rank holds (ZeRO 0-1: the all-reduced gradients; 2-3: its
  // shards), in table order; a part several tp ranks hold counts on its owner only.
  double sumsq = 0.0;
  if (stage_ <= 1) {
    sumsq = counted_squares(grads_.data(), 0, grads_.size());
  } else {
    for (int u : owned_units_) {
      const size_t begin = layout_.owned_begin(u);
      sumsq += counted_squares(shard_grads_.data() + layout_.shard_offset(u), begin,
                               begin + layout_.owned(u));
    }
    dp_.all_reduce(&sumsq, 1, dist::ReduceOp::sum);
    comm_bytes_ += static_cast<int64_t>(2 * sizeof(double));
  }
  if (tp_ != nullptr && tp_->size() > 1) {
    tp_->all_reduce(&sumsq, 1, dist::ReduceOp::sum);
  }
  if (pp_ != nullptr && pp_->size() > 1) {
    pp_->all_reduce(&sumsq, 1, dist::ReduceOp::sum);
  }
  const double norm = std::sqrt(sumsq);
  grad_scale_ = optim::clip_scale(norm, max_norm);
  return norm;
}

double DataParallel::counted_squares(const float* values, size_t begin, size_t end) const {
  const int copy = tied_owner_ ? -1 : model_.tied_param();  // a pipeline's second wte counts once
  double sum = 0.0;
  for (const model::ParamSpec& spec : table_.specs()) {
    const size_t lo = std::max(begin, spec.offset);
    const size_t hi = std::min(end, spec.offset + spec.numel);
    if (lo < hi && spec.owner && !(copy >= 0 && &spec == &table_.spec(copy))) {
      sum += kernels::sum_squares<float>(values + (lo - begin), hi - lo);
    }
  }
  return sum;
}

void DataParallel::measure_micro_norms(dist::ProcessGroup* cp) {
  measuring_ = true;
  measure_cp_ = cp != nullptr && cp->size() > 1 ? cp : nullptr;
  if (stage_ <= 1) {
    last_grads_.assign(grads_.size(), 0.0f);
    increment_.assign(grads_.size(), 0.0f);
  }
}

void DataParallel::add_micro_squares(float* values, size_t begin, size_t end) {
  const size_t n = end - begin;
  float* part = values;
  if (measure_cp_ != nullptr) {
    if (values != increment_.data()) {  // staged gradients, still to be reduced: a copy
      cp_sum_.assign(values, values + n);
      part = cp_sum_.data();
    }
    measure_cp_->all_reduce(part, n, dist::ReduceOp::sum);
    if (measure_cp_->rank() != 0) {
      return;
    }
  }
  micro_squares_ += counted_squares(part, begin, end);
}

void DataParallel::note_backward() {
  if (!measuring_ || stage_ >= 2) {
    return;  // ZeRO 2-3 took each staged unit as its backward finished it
  }
  for (size_t i = 0; i < grads_.size(); ++i) {
    increment_[i] = grads_[i] - last_grads_[i];
    last_grads_[i] = grads_[i];
  }
  add_micro_squares(increment_.data(), 0, grads_.size());
}

bool DataParallel::finite() const {
  // A sum of squares of floats cannot overflow a double: it is finite iff every element is.
  const optim::AdamW<float>& adamw = *adamw_;
  for (const std::vector<float>* v : {&params_, &shard_params_, &adamw.m(), &adamw.v()}) {
    if (!std::isfinite(kernels::sum_squares<float>(v->data(), v->size()))) {
      return false;
    }
  }
  return true;
}

void DataParallel::skip_update(bool nonfinite) {
  grad_scale_ = 1.0;
  if (nonfinite) {
    reduction_->reset_state();
  }
}

void DataParallel::update(double lr) {
  const double grad_scale = std::exchange(grad_scale_, 1.0);
  if (stage_ == 0) {
    adamw_->update(params_.data(), grads_.data(), lr, grad_scale);
    return;
  }
  std::vector<float*> p;
  std::vector<const float*> g;
  for (int u : owned_units_) {
    const size_t begin = layout_.owned_begin(u);
    const size_t shard = layout_.shard_offset(u);
    p.push_back(stage_ == 3 ? shard_params_.data() + shard : params_.data() + begin);
    g.push_back(stage_ == 1 ? grads_.data() + begin : shard_grads_.data() + shard);
  }
  adamw_->update(p, g, lr, grad_scale);
  if (stage_ == 3) {
    return;  // the parameters stay sharded; forward gathers them
  }
  // Every rank's updated blocks back into every replica, all units at once.
  std::vector<dist::Request> requests;
  for (int u = 0; u < layout_.count(); ++u) {
    const Unit& unit = layout_.unit(u);
    requests.push_back(dp_.iall_gather_v(params_.data() + layout_.owned_begin(u),
                                         params_.data() + unit.begin, layout_.block(u),
                                         unit.size()));
    count_ring(1.0, unit.size());
  }
  for (auto& r : requests) {
    r.wait();
  }
}

DataParallel::Memory DataParallel::memory() const {
  Memory m{};
  m.gathered = gather_pool_->bytes();
  m.staged = stage_pool_->bytes();
  m.params = (params_.size() + shard_params_.size()) * sizeof(float) + m.gathered;
  m.compress = reduction_->state_bytes();
  m.grads = (grads_.size() + shard_grads_.size() + last_grads_.size() + increment_.size() +
             cp_sum_.capacity()) *
                sizeof(float) +
            m.staged + m.compress;
  m.optim = (adamw_->m().size() + adamw_->v().size()) * sizeof(float);
  return m;
}

}  // namespace parti::parallel::data
