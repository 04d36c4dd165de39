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

 private:
  void check(int rc) {
    if (rc != MPI_SUCCESS) {
      char text[MPI_MAX_ERROR_STRING];
      int length = 0;
      MPI_Error_string(rc, text, &length);
      throw DistError(str_cat(what_, " failed: ", std::string(text, static_cast<size_t>(length))));
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
  const std::string& name() const override { return name_; }

  Request iall_reduce(float* data, size_t n, ReduceOp op) override {
    return start("all_reduce", n, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, data, count_of(n), MPI_FLOAT, op_of(op), comm_, r);
    });
  }
  Request iall_reduce(double* data, size_t n, ReduceOp op) override {
    return start(
        "all_reduce", n,
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
  Request ireduce_scatter_v(const float* in, float* out, size_t n, size_t total) override {
    PARTI_ASSERT(total <= n * static_cast<size_t>(size_), "reduce_scatter_v of ", total,
                 " elements in blocks of ", n, " over ", size_, " ranks");
    return start("reduce_scatter_v", total, [&](MpiRequest& q) {
      q.counts = block_counts(n, total);
      return MPI_Ireduce_scatter(in, out, q.counts.data(), MPI_FLOAT, MPI_SUM, comm_, q.handle());
    });
  }
  Request iall_gather_v(const float* in, float* out, size_t n, size_t total) override {
    PARTI_ASSERT(total <= n * static_cast<size_t>(size_), "all_gather_v of ", total,
                 " elements in blocks of ", n, " over ", size_, " ranks");
    const size_t mine = static_cast<size_t>(rank_) * n;
    const void* send = mine <= total && in == out + mine ? MPI_IN_PLACE : in;
    return start("all_gather_v", total, [&](MpiRequest& q) {
      q.counts = block_counts(n, total);
      q.displs.resize(static_cast<size_t>(size_));
      for (int r = 0; r < size_; ++r) {
        q.displs[static_cast<size_t>(r)] = count_of(static_cast<size_t>(r) * n);
      }
      return MPI_Iallgatherv(send, q.counts[static_cast<size_t>(rank_)], MPI_FLOAT, out,
                             q.counts.data(), q.displs.data(), MPI_FLOAT, comm_, q.handle());
    });
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
  void barrier() override {
    Request r = start("barrier", 0, [&](MPI_Request* h) { return MPI_Ibarrier(comm_, h); });
    r.wait();
  }

 private:
  template <typename Start>
  Request start(const char* op, size_t n, Start&& begin, const char* dtype = "float") {
    ++sequence_;
    if (check_ && std::string_view(op) != "send" && std::string_view(op) != "recv") {
      check_same_call(op, n, dtype);
    }
    const std::string what =
        str_cat(op, " #", sequence_, " of ", n, " ", dtype, " on ", name_, " (rank ", rank_, ")");
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
