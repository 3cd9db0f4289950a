// Many threads share one S3Store (one pool of connections): every range
// comes back byte-exact. Also measures what a node will feel: a small
// ranged GET's latency and the throughput of parallel 4 MiB GETs.
#include <algorithm>
#include <iostream>
#include <thread>

#include "store/remote/s3_store.h"
#include "tests/store/remote/remote_test_env.h"

namespace re2po {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kObjectSize = 4 << 20;

class S3ParallelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    auto env = testing::FindCeph(why_not);
    if (!env) GTEST_SKIP() << why_not;
    env_ = *env;
    S3Options options;
    options.prefix = "parallel";
    bucket_ = std::make_unique<testing::CephBucket>(
        env_, ::testing::UnitTest::GetInstance()->current_test_info()->name(), options);
    ASSERT_OK(bucket_->store().EnsureBucket());
    object_ = testing::RandomText(kObjectSize, 7);
    ASSERT_OK(bucket_->store().Put("object", object_));
  }
  S3Store& store() { return bucket_->store(); }

  testing::CephEnv env_;
  std::unique_ptr<testing::CephBucket> bucket_;
  std::string object_;
};

TEST_F(S3ParallelTest, EightThreadsOfFiftyRangesAreByteExact) {
  constexpr int kThreads = 8;
  constexpr int kRangesPerThread = 50;
  const uint64_t requests_before = store().counters().requests.load();
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 random(1000 + t);
      for (int i = 0; i < kRangesPerThread; ++i) {
        const uint64_t length = 1 + random() % (256 << 10);
        const uint64_t offset = random() % (kObjectSize - length + 1);
        Result<std::string> bytes = store().GetRange("object", offset, length);
        if (!bytes.ok()) {
          failures[t] = bytes.status().ToString();
          return;
        }
        if (*bytes != std::string_view(object_).substr(offset, length)) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], "") << "thread " << t;
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  }
  EXPECT_EQ(store().counters().requests.load() - requests_before,
            static_cast<uint64_t>(kThreads * kRangesPerThread));
  EXPECT_EQ(store().counters().errors.load(), 0u);
}

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(fraction * static_cast<double>(values.size() - 1))];
}

// Figures, printed for the record; the assertions only check correctness
// (timings on a shared 2-core machine are not a pass/fail matter).
TEST_F(S3ParallelTest, FiguresSmallRangeLatencyAndParallelThroughput) {
  constexpr int kSmallGets = 200;
  std::vector<double> latencies_ms;
  ASSERT_OK(store().GetRange("object", 0, 4096).status());  // warm the connection
  for (int i = 0; i < kSmallGets; ++i) {
    const uint64_t offset = static_cast<uint64_t>(i) * 16'384;
    const auto start = Clock::now();
    ASSERT_OK_AND_ASSIGN(std::string bytes, store().GetRange("object", offset, 4096));
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    ASSERT_EQ(bytes, object_.substr(offset, 4096));
  }

  constexpr int kThreads = 8;
  constexpr int kGetsPerThread = 4;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  const auto start = Clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kGetsPerThread; ++i) {
        Result<std::string> bytes = store().Get("object");
        if (!bytes.ok() || *bytes != object_) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(wrong.load(), 0);
  const double mib = kThreads * kGetsPerThread * static_cast<double>(kObjectSize) / (1 << 20);

  std::cout << "[ FIGURES  ] 4 KiB ranged GET on loopback: p50 " << Percentile(latencies_ms, 0.5)
            << " ms, p90 " << Percentile(latencies_ms, 0.9) << " ms, p99 "
            << Percentile(latencies_ms, 0.99) << " ms (" << kSmallGets << " sequential)\n"
            << "[ FIGURES  ] " << kThreads << " threads x " << kGetsPerThread
            << " whole 4 MiB GETs: " << mib / seconds << " MiB/s (" << mib << " MiB in " << seconds
            << " s)" << std::endl;
  RecordProperty("small_range_p50_ms", std::to_string(Percentile(latencies_ms, 0.5)));
  RecordProperty("parallel_4mib_get_mib_per_s", std::to_string(mib / seconds));
}

}  // namespace
}  // namespace re2po
