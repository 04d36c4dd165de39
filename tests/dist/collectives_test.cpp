// Every collective and its non-blocking form on real processes (run under mpirun at several
// world sizes by ctest), on the groups of every axis of every mesh that fits the world, against
// values computed locally; sizes that do not divide evenly included. Exit status 1 on any
// mismatch (every rank reports its own failures; the job fails if any rank fails).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "parti/dist/mpi_env.h"

namespace {

using parti::dist::Axis;
using parti::dist::ProcessGroup;
using parti::dist::ReduceOp;

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

// A value every rank can compute for any (rank, index).
float value(int rank, size_t i) {
  return static_cast<float>(rank + 1) * 0.5f + static_cast<float>(i % 7);
}

void check_group(ProcessGroup& g, const std::vector<int>& world_of, bool nonblocking) {
  const int P = g.size();
  const std::string tag = g.name() + (nonblocking ? " (non-blocking)" : "");
  for (size_t n : {size_t{1}, size_t{5}, size_t{1000}, size_t{4099}}) {
    // all_reduce sum and max
    std::vector<float> data(n), mx(n);
    for (size_t i = 0; i < n; ++i)
      data[i] = mx[i] = value(world_of[static_cast<size_t>(g.rank())], i);
    if (nonblocking) {
      auto r1 = g.iall_reduce(data.data(), n, ReduceOp::sum);
      auto r2 = g.iall_reduce(mx.data(), n, ReduceOp::max);
      r1.wait();
      r2.wait();
    } else {
      g.all_reduce(data.data(), n, ReduceOp::sum);
      g.all_reduce(mx.data(), n, ReduceOp::max);
    }
    bool ok_sum = true, ok_max = true;
    for (size_t i = 0; i < n; ++i) {
      float sum = 0, best = -1e30f;
      for (int r = 0; r < P; ++r) {
        sum += value(world_of[static_cast<size_t>(r)], i);
        best = std::max(best, value(world_of[static_cast<size_t>(r)], i));
      }
      ok_sum = ok_sum && std::abs(data[i] - sum) <= 1e-5f * std::abs(sum);
      ok_max = ok_max && mx[i] == best;
    }
    expect(ok_sum, tag + " all_reduce sum n=" + std::to_string(n));
    expect(ok_max, tag + " all_reduce max n=" + std::to_string(n));
    // double all_reduce
    double d = static_cast<double>(g.rank()) + 0.25;
    if (nonblocking) {
      g.iall_reduce(&d, 1, ReduceOp::sum).wait();
    } else {
      g.all_reduce(&d, 1, ReduceOp::sum);
    }
    expect(d == P * (P - 1) / 2.0 + 0.25 * P, tag + " all_reduce double");
    // reduce_scatter: in (P*n) -> out (n), block r of the sum
    std::vector<float> in(static_cast<size_t>(P) * n), out(n);
    for (size_t i = 0; i < in.size(); ++i)
      in[i] = value(world_of[static_cast<size_t>(g.rank())], i);
    if (nonblocking) {
      g.ireduce_scatter(in.data(), out.data(), n).wait();
    } else {
      g.reduce_scatter(in.data(), out.data(), n);
    }
    bool ok_rs = true;
    for (size_t i = 0; i < n; ++i) {
      float sum = 0;
      for (int r = 0; r < P; ++r)
        sum += value(world_of[static_cast<size_t>(r)], static_cast<size_t>(g.rank()) * n + i);
      ok_rs = ok_rs && std::abs(out[i] - sum) <= 1e-5f * std::abs(sum);
    }
    expect(ok_rs, tag + " reduce_scatter n=" + std::to_string(n));
    // all_gather: in (n) -> out (P*n), block r from rank r
    std::vector<float> mine(n), all(static_cast<size_t>(P) * n);
    for (size_t i = 0; i < n; ++i) mine[i] = value(world_of[static_cast<size_t>(g.rank())], i);
    if (nonblocking) {
      g.iall_gather(mine.data(), all.data(), n).wait();
    } else {
      g.all_gather(mine.data(), all.data(), n);
    }
    bool ok_ag = true;
    for (int r = 0; r < P; ++r)
      for (size_t i = 0; i < n; ++i)
        ok_ag = ok_ag &&
                all[static_cast<size_t>(r) * n + i] == value(world_of[static_cast<size_t>(r)], i);
    expect(ok_ag, tag + " all_gather n=" + std::to_string(n));
    // 16-bit words: all_to_all (block r to rank r) and all_gather, the latter also in place.
    auto word = [&](int from, int to, size_t i) {
      return static_cast<uint16_t>((world_of[static_cast<size_t>(from)] * 31 + to * 7 + i) % 65521);
    };
    const auto Pn = static_cast<size_t>(P) * n;
    std::vector<uint16_t> send16(Pn), recv16(Pn);
    for (int to = 0; to < P; ++to)
      for (size_t i = 0; i < n; ++i)
        send16[static_cast<size_t>(to) * n + i] = word(g.rank(), to, i);
    g.iall_to_all(send16.data(), recv16.data(), n).wait();
    bool ok_a2a = true;
    for (int from = 0; from < P; ++from)
      for (size_t i = 0; i < n; ++i)
        ok_a2a = ok_a2a && recv16[static_cast<size_t>(from) * n + i] == word(from, g.rank(), i);
    expect(ok_a2a, tag + " all_to_all u16 n=" + std::to_string(n));
    std::vector<uint16_t> all16(Pn);
    for (size_t i = 0; i < n; ++i)
      all16[static_cast<size_t>(g.rank()) * n + i] = word(g.rank(), 0, i);
    g.iall_gather(all16.data() + static_cast<size_t>(g.rank()) * n, all16.data(), n).wait();
    bool ok_ag16 = true;
    for (int r = 0; r < P; ++r)
      for (size_t i = 0; i < n; ++i)
        ok_ag16 = ok_ag16 && all16[static_cast<size_t>(r) * n + i] == word(r, 0, i);
    expect(ok_ag16, tag + " all_gather u16 in place n=" + std::to_string(n));
    std::vector<uint16_t> mine16(n), at_root(Pn, 0);
    for (size_t i = 0; i < n; ++i) mine16[i] = word(g.rank(), 1, i);
    g.igather(mine16.data(), at_root.data(), n, P - 1).wait();
    bool ok_g16 = true;
    for (int r = 0; g.rank() == P - 1 && r < P; ++r)
      for (size_t i = 0; i < n; ++i)
        ok_g16 = ok_g16 && at_root[static_cast<size_t>(r) * n + i] == word(r, 1, i);
    expect(ok_g16, tag + " gather u16 n=" + std::to_string(n));
    // The uneven forms: a buffer of n elements in blocks of ceil(n / P) (the last ones short or
    // empty), blocking or not; all_gather_v also in place.
    const size_t block = (n + static_cast<size_t>(P) - 1) / static_cast<size_t>(P);
    const size_t mine_len = parti::dist::block_length(g.rank(), block, n);
    const size_t first = static_cast<size_t>(g.rank()) * block;
    std::vector<float> whole(n), part(block, -1.0f);
    for (size_t i = 0; i < n; ++i) whole[i] = value(world_of[static_cast<size_t>(g.rank())], i);
    if (nonblocking) {
      g.ireduce_scatter_v(whole.data(), part.data(), block, n).wait();
    } else {
      g.reduce_scatter_v(whole.data(), part.data(), block, n);
    }
    bool ok_rsv = true;
    for (size_t i = 0; i < mine_len; ++i) {
      float sum = 0;
      for (int r = 0; r < P; ++r) sum += value(world_of[static_cast<size_t>(r)], first + i);
      ok_rsv = ok_rsv && std::abs(part[i] - sum) <= 1e-5f * std::abs(sum);
    }
    for (size_t i = mine_len; i < block; ++i) ok_rsv = ok_rsv && part[i] == -1.0f;
    expect(ok_rsv, tag + " reduce_scatter_v n=" + std::to_string(n));
    for (bool in_place : {false, true}) {
      std::vector<float> gathered(n, -2.0f);
      std::vector<float> own(block);
      for (size_t i = 0; i < mine_len; ++i)
        own[i] = value(world_of[static_cast<size_t>(g.rank())], first + i);
      if (in_place)
        std::copy(own.begin(), own.begin() + static_cast<long>(mine_len),
                  gathered.begin() + static_cast<long>(std::min(first, n)));
      const float* src = in_place ? gathered.data() + std::min(first, n) : own.data();
      if (nonblocking) {
        auto agv = g.iall_gather_v(src, gathered.data(), block, n);
        agv.wait();
      } else {
        g.all_gather_v(src, gathered.data(), block, n);
      }
      bool ok_agv = true;
      for (size_t i = 0; i < n; ++i) {
        const int owner = static_cast<int>(i / block);
        ok_agv = ok_agv && gathered[i] == value(world_of[static_cast<size_t>(owner)], i);
      }
      expect(ok_agv, tag + " all_gather_v n=" + std::to_string(n) + (in_place ? " in place" : ""));
    }
    // reduce to the last rank (and to rank 0)
    for (int root : {P - 1, 0}) {
      std::vector<float> contrib(n), reduced(n, -3.0f);
      for (size_t i = 0; i < n; ++i) contrib[i] = value(world_of[static_cast<size_t>(g.rank())], i);
      if (nonblocking) {
        g.ireduce(contrib.data(), reduced.data(), n, root).wait();
      } else {
        g.reduce(contrib.data(), reduced.data(), n, root);
      }
      bool ok_rd = true;
      for (size_t i = 0; i < n; ++i) {
        float sum = 0;
        for (int r = 0; r < P; ++r) sum += value(world_of[static_cast<size_t>(r)], i);
        ok_rd = ok_rd && (g.rank() == root ? std::abs(reduced[i] - sum) <= 1e-5f * std::abs(sum)
                                           : reduced[i] == -3.0f);
      }
      expect(ok_rd, tag + " reduce to " + std::to_string(root) + " n=" + std::to_string(n));
    }
    // broadcast from the last rank
    std::vector<float> b(n, -1.0f);
    if (g.rank() == P - 1)
      for (size_t i = 0; i < n; ++i) b[i] = value(99, i);
    if (nonblocking) {
      g.ibroadcast(b.data(), n, P - 1).wait();
    } else {
      g.broadcast(b.data(), n, P - 1);
    }
    bool ok_b = true;
    for (size_t i = 0; i < n; ++i) ok_b = ok_b && b[i] == value(99, i);
    expect(ok_b, tag + " broadcast n=" + std::to_string(n));
    // ring send/recv: to the next rank, from the previous
    if (P > 1) {
      std::vector<float> sendbuf(n), recvbuf(n);
      for (size_t i = 0; i < n; ++i) sendbuf[i] = value(world_of[static_cast<size_t>(g.rank())], i);
      const int next = (g.rank() + 1) % P, prev = (g.rank() + P - 1) % P;
      auto rr = g.irecv(recvbuf.data(), n, prev, 7);
      auto sr = g.isend(sendbuf.data(), n, next, 7);
      rr.wait();
      sr.wait();
      bool ok_p2p = true;
      for (size_t i = 0; i < n; ++i)
        ok_p2p = ok_p2p && recvbuf[i] == value(world_of[static_cast<size_t>(prev)], i);
      expect(ok_p2p, tag + " send/recv n=" + std::to_string(n));
    }
  }
  g.barrier();
}

}  // namespace

int main(int argc, char** argv) {
  parti::dist::MpiEnv env(&argc, &argv);
  const int world = env.size();
  // Every (tp, cp, dp, pp) factorisation of the world size.
  int meshes = 0;
  for (int tp = 1; tp <= world; ++tp)
    for (int cp = 1; cp <= world / tp; ++cp)
      for (int dp = 1; dp <= world / (tp * cp); ++dp) {
        if (world % (tp * cp * dp) != 0) continue;
        const int pp = world / (tp * cp * dp);
        parti::dist::MeshShape shape;
        shape.sizes = {tp, cp, dp, pp};
        parti::dist::Mesh mesh(shape, env.rank(), world, env.splitter());
        ++meshes;
        for (Axis a : {Axis::tp, Axis::cp, Axis::dp, Axis::pp}) {
          const std::vector<int> members = shape.group_ranks(env.rank(), a);
          expect(mesh.group(a).size() == static_cast<int>(members.size()), "group size");
          expect(mesh.group(a).rank() == mesh.coord(a), "group rank = axis coordinate");
          for (bool nb : {false, true}) check_group(mesh.group(a), members, nb);
        }
      }
  auto w = env.world();
  std::vector<int> everyone(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r) everyone[static_cast<size_t>(r)] = r;
  check_group(*w, everyone, false);
  double total = failures;
  w->all_reduce(&total, 1, ReduceOp::sum);
  if (env.rank() == 0) {
    std::printf("%d meshes on %d ranks: %s\n", meshes, world,
                total == 0 ? "all collectives agree" : "FAILURES");
  }
  return total == 0 ? 0 : 1;
}
