// Bucket formation of the GradReducer, exactly, with a group that records each collective
// (which group got which call, as Megatron's tests record their groups).
#include "parti/parallel/data/grad_reducer.h"

#include <gtest/gtest.h>

#include <vector>

namespace parti::parallel::data {
namespace {

struct Call {
  size_t offset, count;
};

class RecordingGroup : public dist::ProcessGroup {
 public:
  explicit RecordingGroup(const float* base) : base_(base) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  const std::string& name() const override { return name_; }
  dist::Request iall_reduce(float* data, size_t n, dist::ReduceOp) override {
    calls.push_back({static_cast<size_t>(data - base_), n});
    return {};
  }
  dist::Request iall_reduce(double*, size_t, dist::ReduceOp) override { return {}; }
  dist::Request ireduce_scatter(const float*, float*, size_t) override { return {}; }
  dist::Request iall_gather(const float*, float*, size_t) override { return {}; }
  dist::Request ireduce_scatter(const double*, double*, size_t) override { return {}; }
  dist::Request iall_gather(const double*, double*, size_t) override { return {}; }
  dist::Request ireduce_scatter_v(const float*, float*, size_t, size_t) override { return {}; }
  dist::Request iall_gather_v(const float*, float*, size_t, size_t) override { return {}; }
  dist::Request iall_to_all(const uint16_t*, uint16_t*, size_t) override { return {}; }
  dist::Request iall_gather(const uint16_t*, uint16_t*, size_t) override { return {}; }
  dist::Request igather(const uint16_t*, uint16_t*, size_t, int) override { return {}; }
  dist::Request ireduce(const float*, float*, size_t, int) override { return {}; }
  dist::Request ibroadcast(float*, size_t, int) override { return {}; }
  dist::Request ireduce(const double*, double*, size_t, int) override { return {}; }
  dist::Request ibroadcast(double*, size_t, int) override { return {}; }
  dist::Request isend(const double*, size_t, int, int) override { return {}; }
  dist::Request irecv(double*, size_t, int, int) override { return {}; }
  dist::Request isend(const float*, size_t, int, int) override { return {}; }
  dist::Request irecv(float*, size_t, int, int) override { return {}; }
  void barrier() override {}
  std::unique_ptr<dist::ProcessGroup> duplicate(const std::string&) override {
    return std::make_unique<RecordingGroup>(base_);
  }
  std::vector<Call> calls;

 private:
  const float* base_;
  std::string name_ = "dp[0,1]";
};

TEST(GradReducer, AdjacentRangesFormBucketsOfAtLeastTheBucketSize) {
  std::vector<float> grads(20, 1.0f);
  RecordingGroup group(grads.data());
  auto plain = make_plain_reduction(group);
  GradReducer reducer(*plain, 4 * sizeof(float));
  reducer.begin(grads.data());
  reducer.ready(17, 20);  // the final norm (3 elements): pending
  reducer.ready(15, 17);  // adjacent below: 5 >= 4, starts [15, 20)
  ASSERT_EQ(group.calls.size(), 1u);
  EXPECT_EQ(group.calls[0].offset, 15u);
  EXPECT_EQ(group.calls[0].count, 5u);
  reducer.ready(12, 15);  // pending [12, 15)
  reducer.ready(0, 0);    // progress only
  reducer.ready(3, 6);    // not adjacent: [12, 15) starts, [3, 6) pending
  ASSERT_EQ(group.calls.size(), 2u);
  EXPECT_EQ(group.calls[1].offset, 12u);
  EXPECT_EQ(group.calls[1].count, 3u);
  reducer.finish();  // the rest
  ASSERT_EQ(group.calls.size(), 3u);
  EXPECT_EQ(group.calls[2].offset, 3u);
  EXPECT_EQ(group.calls[2].count, 3u);
  ASSERT_EQ(reducer.buckets().size(), 3u);
  EXPECT_TRUE(reducer.buckets()[0].done_in_backward) << "an empty request is complete at once";
  EXPECT_FALSE(reducer.buckets()[2].done_in_backward) << "started by finish()";
}

}  // namespace
}  // namespace parti::parallel::data
