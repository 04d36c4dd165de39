// MpiGroup: ProcessGroup over an MPI communicator, with MpiEnv. With mpi_env, the only code that
// includes <mpi.h> (checked by tests/tools/guards.sh). Errors return (MPI_ERRORS_RETURN) and
// become DistError naming the operation, the group and the rank.
#include <mpi.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <type_traits>
#include <vector>

#include "parti/dist/mpi_env.h"

namespace parti::dist {
namespace {

std::string error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  return std::string(text, static_cast<size_t>(length));
}

class MpiRequest : public Request::Impl {
 public:
  MpiRequest(const std::string& what, Watchdog* watchdog) : what_(what), watchdog_(watchdog) {}
  MPI_Request* handle() { return &request_; }
  // Counts and displacements MPI reads until the operation completes (uneven collectives).
  std::vector<int> counts, displs;
  void wait() override {
    if (watchdog_ != nullptr) {
      watchdog_->begin(what_);
    }
    check(MPI_Wait(&request_, MPI_STATUS_IGNORE));
    if (watchdog_ != nullptr) {
      watchdog_->end();
    }
  }
  bool test() override {
    int done = 0;
    check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE));
    return done != 0;
  }
  void wait_politely() override {  // under the watchdog, as wait()
    if (watchdog_ != nullptr) {
      watchdog_->begin(what_);
    }
    Request::Impl::wait_politely();
    if (watchdog_ != nullptr) {
      watchdog_->end();
    }
  }

 private:
  void check(int rc) {
    if (rc != MPI_SUCCESS) {
      throw DistError(str_cat(what_, " failed: ", error_text(rc)));
    }
  }
  std::string what_;
  Watchdog* watchdog_;
  MPI_Request request_ = MPI_REQUEST_NULL;
};

int count_of(size_t n) {
  PARTI_ASSERT(n <= static_cast<size_t>(INT_MAX), "message of ", n, " elements is too large");
  return static_cast<int>(n);
}

MPI_Op op_of(ReduceOp op) { return op == ReduceOp::sum ? MPI_SUM : MPI_MAX; }

class MpiGroup : public ProcessGroup {
 public:
  MpiGroup(MPI_Comm comm, std::string name, Watchdog* watchdog, bool check)
      : comm_(comm), name_(std::move(name)), watchdog_(watchdog), check_(check) {
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiGroup() override {
    if (comm_ != MPI_COMM_WORLD) {
      MPI_Comm_free(&comm_);
    }
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // The reduction is part of a call's name: --check-collectives then tells a sum from a max.
  static const char* reduce_name(ReduceOp op) {
    return op == ReduceOp::max ? "all_reduce(max)" : "all_reduce";
  }
  const std::string& name() const override { return name_; }

  Request iall_reduce(float* data, size_t n, ReduceOp op) override {
    return start(reduce_name(op), n, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, data, count_of(n), MPI_FLOAT, op_of(op), comm_, r);
    });
  }
  Request iall_reduce(double* data, size_t n, ReduceOp op) override {
    return start(
        reduce_name(op), n,
        [&](MPI_Request* r) {
          return MPI_Iallreduce(MPI_IN_PLACE, data, count_of(n), MPI_DOUBLE, op_of(op), comm_, r);
        },
        "double");
  }
  Request ireduce_scatter(const float* in, float* out, size_t n) override {
    return start("reduce_scatter", n, [&](MPI_Request* r) {
      return MPI_Ireduce_scatter_block(in, out, count_of(n), MPI_FLOAT, MPI_SUM, comm_, r);
    });
  }
  Request iall_gather(const float* in, float* out, size_t n) override {
    // In place when `in` is this rank's block of `out`.
    const void* send = in == out + static_cast<size_t>(rank_) * n ? MPI_IN_PLACE : in;
    return start("all_gather", n, [&](MPI_Request* r) {
      return MPI_Iallgather(send, count_of(n), MPI_FLOAT, out, count_of(n), MPI_FLOAT, comm_, r);
    });
  }
  Request ireduce_scatter(const double* in, double* out, size_t n) override {
    return start(
        "reduce_scatter", n,
        [&](MPI_Request* r) {
          return MPI_Ireduce_scatter_block(in, out, count_of(n), MPI_DOUBLE, MPI_SUM, comm_, r);
        },
        "double");
  }
  Request iall_gather(const double* in, double* out, size_t n) override {
    const void* send = in == out + static_cast<size_t>(rank_) * n ? MPI_IN_PLACE : in;
    return start(
        "all_gather", n,
        [&](MPI_Request* r) {
          return MPI_Iallgather(send, count_of(n), MPI_DOUBLE, out, count_of(n), MPI_DOUBLE, comm_,
                                r);
        },
        "double");
  }
  Request ireduce_scatter_v(const float* in, float* out, size_t n, size_t total) override {
    check_blocks("reduce_scatter_v", n, total);
    return start("reduce_scatter_v", total, [&](MpiRequest& q) {
      q.counts = block_counts(n, total);
      return MPI_Ireduce_scatter(in, out, q.counts.data(), MPI_FLOAT, MPI_SUM, comm_, q.handle());
    });
  }
  Request iall_gather_v(const float* in, float* out, size_t n, size_t total) override {
    check_blocks("all_gather_v", n, total);
    const void* send = gather_send(in, out, n, total);
    return start("all_gather_v", total, [&](MpiRequest& q) {
      q.counts = block_counts(n, total);
      q.displs = block_displs(n);
      return MPI_Iallgatherv(send, q.counts[static_cast<size_t>(rank_)], MPI_FLOAT, out,
                             q.counts.data(), q.displs.data(), MPI_FLOAT, comm_, q.handle());
    });
  }
  Request iall_to_all(const uint16_t* in, uint16_t* out, size_t n) override {
    return start(
        "all_to_all", n,
        [&](MPI_Request* r) {
          return MPI_Ialltoall(in, count_of(n), MPI_UINT16_T, out, count_of(n), MPI_UINT16_T, comm_,
                               r);
        },
        "u16");
  }
  Request iall_gather(const uint16_t* in, uint16_t* out, size_t n) override {
    const void* send = in == out + static_cast<size_t>(rank_) * n ? MPI_IN_PLACE : in;
    return start(
        "all_gather", n,
        [&](MPI_Request* r) {
          return MPI_Iallgather(send, count_of(n), MPI_UINT16_T, out, count_of(n), MPI_UINT16_T,
                                comm_, r);
        },
        "u16");
  }
  Request igather(const uint16_t* in, uint16_t* out, size_t n, int root) override {
    return start(
        "gather", n,
        [&](MPI_Request* r) {
          return MPI_Igather(in, count_of(n), MPI_UINT16_T, out, count_of(n), MPI_UINT16_T, root,
                             comm_, r);
        },
        "u16");
  }
  Request ireduce(const float* in, float* out, size_t n, int root) override {
    return start("reduce", n, [&](MPI_Request* r) {
      return MPI_Ireduce(in, out, count_of(n), MPI_FLOAT, MPI_SUM, root, comm_, r);
    });
  }
  Request ibroadcast(float* data, size_t n, int root) override {
    return start("broadcast", n, [&](MPI_Request* r) {
      return MPI_Ibcast(data, count_of(n), MPI_FLOAT, root, comm_, r);
    });
  }
  Request ireduce(const double* in, double* out, size_t n, int root) override {
    return start(
        "reduce", n,
        [&](MPI_Request* r) {
          return MPI_Ireduce(in, out, count_of(n), MPI_DOUBLE, MPI_SUM, root, comm_, r);
        },
        "double");
  }
  Request ibroadcast(double* data, size_t n, int root) override {
    return start(
        "broadcast", n,
        [&](MPI_Request* r) { return MPI_Ibcast(data, count_of(n), MPI_DOUBLE, root, comm_, r); },
        "double");
  }
  Request isend(const float* data, size_t n, int peer, int tag) override {
    return start("send", n, [&](MPI_Request* r) {
      return MPI_Isend(data, count_of(n), MPI_FLOAT, peer, tag, comm_, r);
    });
  }
  Request irecv(float* data, size_t n, int peer, int tag) override {
    return start("recv", n, [&](MPI_Request* r) {
      return MPI_Irecv(data, count_of(n), MPI_FLOAT, peer, tag, comm_, r);
    });
  }
  Request isend(const double* data, size_t n, int peer, int tag) override {
    return start(
        "send", n,
        [&](MPI_Request* r) {
          return MPI_Isend(data, count_of(n), MPI_DOUBLE, peer, tag, comm_, r);
        },
        "double");
  }
  Request irecv(double* data, size_t n, int peer, int tag) override {
    return start(
        "recv", n,
        [&](MPI_Request* r) {
          return MPI_Irecv(data, count_of(n), MPI_DOUBLE, peer, tag, comm_, r);
        },
        "double");
  }
  void barrier() override {
    run("barrier", 0, [&] { return MPI_Barrier(comm_); });
  }
  std::unique_ptr<ProcessGroup> duplicate(const std::string& name) override {
    MPI_Comm comm = MPI_COMM_NULL;
    run("duplicate", 0, [&] { return MPI_Comm_dup(comm_, &comm); });
    return std::make_unique<MpiGroup>(comm, name, watchdog_, check_);
  }

  using ProcessGroup::all_gather;  // the double forms: non-blocking and a wait
  using ProcessGroup::reduce_scatter;
  void all_reduce(float* data, size_t n, ReduceOp op) override {
    run(reduce_name(op), n, [&] {
      return MPI_Allreduce(MPI_IN_PLACE, data, count_of(n), MPI_FLOAT, op_of(op), comm_);
    });
  }
  void all_reduce(double* data, size_t n, ReduceOp op) override {
    run(
        reduce_name(op), n,
        [&] {
          return MPI_Allreduce(MPI_IN_PLACE, data, count_of(n), MPI_DOUBLE, op_of(op), comm_);
        },
        "double");
  }
  void reduce_scatter(const float* in, float* out, size_t n) override {
    run("reduce_scatter", n,
        [&] { return MPI_Reduce_scatter_block(in, out, count_of(n), MPI_FLOAT, MPI_SUM, comm_); });
  }
  void all_gather(const float* in, float* out, size_t n) override {
    const void* send = in == out + static_cast<size_t>(rank_) * n ? MPI_IN_PLACE : in;
    run("all_gather", n, [&] {
      return MPI_Allgather(send, count_of(n), MPI_FLOAT, out, count_of(n), MPI_FLOAT, comm_);
    });
  }
  void reduce_scatter_v(const float* in, float* out, size_t n, size_t total) override {
    check_blocks("reduce_scatter_v", n, total);
    const std::vector<int> counts = block_counts(n, total);
    run("reduce_scatter_v", total,
        [&] { return MPI_Reduce_scatter(in, out, counts.data(), MPI_FLOAT, MPI_SUM, comm_); });
  }
  void all_gather_v(const float* in, float* out, size_t n, size_t total) override {
    check_blocks("all_gather_v", n, total);
    const std::vector<int> counts = block_counts(n, total);
    const std::vector<int> displs = block_displs(n);
    const void* send = gather_send(in, out, n, total);
    run("all_gather_v", total, [&] {
      return MPI_Allgatherv(send, counts[static_cast<size_t>(rank_)], MPI_FLOAT, out, counts.data(),
                            displs.data(), MPI_FLOAT, comm_);
    });
  }
  void reduce(const float* in, float* out, size_t n, int root) override {
    run("reduce", n,
        [&] { return MPI_Reduce(in, out, count_of(n), MPI_FLOAT, MPI_SUM, root, comm_); });
  }
  void broadcast(float* data, size_t n, int root) override {
    run("broadcast", n, [&] { return MPI_Bcast(data, count_of(n), MPI_FLOAT, root, comm_); });
  }

 private:
  // Numbers the call, compares it across the group under --check-collectives, and describes it.
  std::string announce(const char* op, size_t n, const char* dtype) {
    ++sequence_;
    if (check_ && std::string_view(op) != "send" && std::string_view(op) != "recv") {
      check_same_call(op, n, dtype);
    }
    return str_cat(op, " #", sequence_, " of ", n, " ", dtype, " on ", name_, " (rank ", rank_,
                   ")");
  }

  // A blocking call, watched like a wait.
  template <typename Call>
  void run(const char* op, size_t n, Call&& call, const char* dtype = "float") {
    const std::string what = announce(op, n, dtype);
    if (watchdog_ != nullptr) {
      watchdog_->begin(what);
    }
    const int rc = call();
    if (watchdog_ != nullptr) {
      watchdog_->end();
    }
    if (rc != MPI_SUCCESS) {
      throw DistError(str_cat(what, " failed: ", error_text(rc)));
    }
  }

  template <typename Start>
  Request start(const char* op, size_t n, Start&& begin, const char* dtype = "float") {
    const std::string what = announce(op, n, dtype);
    auto request = std::make_unique<MpiRequest>(what, watchdog_);
    int rc = 0;
    if constexpr (std::is_invocable_v<Start, MpiRequest&>) {
      rc = begin(*request);
    } else {
      rc = begin(request->handle());
    }
    PARTI_CHECK(rc == MPI_SUCCESS, DistError, what, " could not start (MPI error ", rc, ")");
    return Request(std::move(request));
  }

  // --check-collectives: every rank shares what it is about to call (op, element type, count,
  // sequence number) and all fail, naming each rank's call, when they differ.
  struct Call {
    char op[24];
    char dtype[8];
    uint64_t count;
    uint64_t sequence;
  };
  void check_same_call(const char* op, size_t n, const char* dtype) {
    Call mine{};
    std::snprintf(mine.op, sizeof(mine.op), "%s", op);
    std::snprintf(mine.dtype, sizeof(mine.dtype), "%s", dtype);
    mine.count = n;
    mine.sequence = sequence_;
    std::vector<Call> all(static_cast<size_t>(size_));
    int rc =
        MPI_Allgather(&mine, sizeof(Call), MPI_BYTE, all.data(), sizeof(Call), MPI_BYTE, comm_);
    PARTI_CHECK(rc == MPI_SUCCESS, DistError, "--check-collectives exchange on ", name_, " failed");
    auto same = [](const Call& a, const Call& b) {
      return std::string_view(a.op) == b.op && std::string_view(a.dtype) == b.dtype &&
             a.count == b.count;
    };
    std::string calls;
    bool differ = false;
    for (int r = 0; r < size_; ++r) {
      const Call& c = all[static_cast<size_t>(r)];
      differ = differ || !same(c, all[0]);
      calls += str_cat("; group rank ", r, " calls ", c.op, " #", c.sequence, " of ", c.count, " ",
                       c.dtype);
    }
    PARTI_CHECK(!differ, DistError, "collective mismatch on ", name_, calls);
  }

  void check_blocks(const char* op, size_t n, size_t total) const {
    PARTI_ASSERT(total <= n * static_cast<size_t>(size_), op, " of ", total,
                 " elements in blocks of ", n, " over ", size_, " ranks");
  }
  // In place when `in` is this rank's block of `out`.
  const void* gather_send(const float* in, const float* out, size_t n, size_t total) const {
    const size_t mine = static_cast<size_t>(rank_) * n;
    return mine <= total && in == out + mine ? MPI_IN_PLACE : static_cast<const void*>(in);
  }
  std::vector<int> block_displs(size_t n) const {
    std::vector<int> displs(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      displs[static_cast<size_t>(r)] = count_of(static_cast<size_t>(r) * n);
    }
    return displs;
  }
  std::vector<int> block_counts(size_t n, size_t total) const {
    std::vector<int> counts(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      counts[static_cast<size_t>(r)] = count_of(block_length(r, n, total));
    }
    return counts;
  }

  MPI_Comm comm_;
  std::string name_;

  Watchdog* watchdog_;
  bool check_ = false;
  int rank_ = 0;
  int size_ = 1;
  uint64_t sequence_ = 0;  // operations started on this group
};

}  // namespace

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(var) != nullptr) {
      return true;
    }
  }
  return false;
}

MpiEnv::MpiEnv(int* argc, char*** argv) {
  // Open MPI's non-blocking all-reduce (libnbc) picks a binomial tree for every in-place call and
  // for groups under 4 ranks: each rank then sends and reduces the whole buffer, half the bus
  // bandwidth of the blocking call at 64 MB on 2 ranks. Reduce-scatter + all-gather (falling back
  // to a ring for tiny buffers) matches it. A value the user set (mpirun --mca, environment) wins.
  setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", /*overwrite=*/0);
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  watchdog_ = std::make_unique<Watchdog>("rank " + std::to_string(rank_));
}

MpiEnv::~MpiEnv() {
  watchdog_.reset();
  MPI_Finalize();
}

std::unique_ptr<ProcessGroup> MpiEnv::world() const {
  return std::make_unique<MpiGroup>(MPI_COMM_WORLD, "world", watchdog_.get(), check_collectives_);
}

Mesh::Split MpiEnv::splitter() const {
  Watchdog* watchdog = watchdog_.get();
  const bool check = check_collectives_;
  return [watchdog, check](int color, int key,
                           const std::string& name) -> std::unique_ptr<ProcessGroup> {
    MPI_Comm comm = MPI_COMM_NULL;
    int rc = MPI_Comm_split(MPI_COMM_WORLD, color, key, &comm);
    PARTI_CHECK(rc == MPI_SUCCESS, DistError, "creating group ", name, " failed");
    return std::make_unique<MpiGroup>(comm, name, watchdog, check);
  };
}

double raw_mpi_seconds(const std::string& op, size_t count, int iters) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const size_t p = static_cast<size_t>(size);
  const size_t block = count / p;
  std::vector<float> a(count, 1.0f), b(count, 0.0f);
  auto once = [&]() -> int {
    if (op == "all_reduce") {
      return MPI_Allreduce(MPI_IN_PLACE, a.data(), count_of(count), MPI_FLOAT, MPI_SUM,
                           MPI_COMM_WORLD);
    }
    if (op == "reduce_scatter") {
      return MPI_Reduce_scatter_block(a.data(), b.data(), count_of(block), MPI_FLOAT, MPI_SUM,
                                      MPI_COMM_WORLD);
    }
    if (op == "all_gather") {
      return MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, a.data(), count_of(block), MPI_FLOAT,
                           MPI_COMM_WORLD);
    }
    PARTI_ASSERT(op == "sendrecv", "no such operation ", op);
    return MPI_Sendrecv(a.data(), count_of(count), MPI_FLOAT, (rank + 1) % size, 0, b.data(),
                        count_of(count), MPI_FLOAT, (rank + size - 1) % size, 0, MPI_COMM_WORLD,
                        MPI_STATUS_IGNORE);
  };
  PARTI_CHECK(once() == MPI_SUCCESS, DistError, "raw MPI ", op, " failed");
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  for (int i = 0; i < iters; ++i) {
    PARTI_CHECK(once() == MPI_SUCCESS, DistError, "raw MPI ", op, " failed");
  }
  return (MPI_Wtime() - t0) / iters;
}

void MpiEnv::abort_job(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

}  // namespace parti::dist
