// The mount's counters: the lock-free histogram (store/base/histogram.h),
// the bounded per-model counters, EIO causes, and the exposition text,
// checked by Prometheus's own promtool when it is installed.
#include <fstream>
#include <thread>
#include <vector>

#include "fs/core/metrics.h"
#include "fs/core/metrics_text.h"
#include "store/base/histogram.h"
#include "tests/testutil/testutil.h"

namespace re2po::fs {
namespace {
using namespace re2po::testing;

TEST(HistogramTest, BucketsAreUpperBoundsInclusiveAndCumulative) {
  Histogram histogram({10, 100, 1000});
  for (uint64_t value : {0, 10, 11, 100, 500, 1000, 1001, 99999}) histogram.Observe(value);
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_EQ(snapshot.bounds, (std::vector<uint64_t>{10, 100, 1000}));
  // <=10: 0, 10; <=100: + 11, 100; <=1000: + 500, 1000; +Inf: + 1001, 99999.
  EXPECT_EQ(snapshot.cumulative, (std::vector<uint64_t>{2, 4, 6, 8}));
  EXPECT_EQ(snapshot.count(), 8u);
  EXPECT_EQ(snapshot.sum, 0u + 10 + 11 + 100 + 500 + 1000 + 1001 + 99999);
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram histogram(LatencyBoundsNs());
  constexpr int kThreads = 4;
  constexpr uint64_t kEach = 200'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&histogram, t] {
      for (uint64_t i = 0; i < kEach; ++i) histogram.Observe((i % 7) * 1'000'000 + t);
    });
  }
  // A reader sampling meanwhile always sees a consistent snapshot.
  for (int i = 0; i < 100; ++i) {
    const HistogramSnapshot snapshot = histogram.Snapshot();
    for (size_t b = 1; b < snapshot.cumulative.size(); ++b) {
      ASSERT_LE(snapshot.cumulative[b - 1], snapshot.cumulative[b]);
    }
  }
  for (std::thread& thread : threads) thread.join();
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_EQ(snapshot.count(), kThreads * kEach);
  uint64_t expected_sum = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (uint64_t i = 0; i < kEach; ++i) expected_sum += (i % 7) * 1'000'000 + t;
  }
  EXPECT_EQ(snapshot.sum, expected_sum);
}

TEST(LabelCountersTest, FoldsLabelsPastTheBoundIntoOther) {
  LabelCounters counters(3);
  for (const char* model : {"a", "b", "c", "d", "e", "a", "d"}) counters.Add(model);
  const auto snapshot = counters.Snapshot();
  using Pairs = std::vector<std::pair<std::string, uint64_t>>;
  EXPECT_EQ(snapshot, (Pairs{{"a", 2}, {"b", 1}, {"c", 1}, {"_other", 3}}));
}

TEST(LabelCountersTest, ConcurrentAddsOfTheSameLabelsShareOneCounter) {
  LabelCounters counters(100);
  constexpr int kThreads = 8;
  constexpr int kRounds = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&counters] {
      for (int round = 0; round < kRounds; ++round) {
        for (int m = 0; m < 50; ++m) counters.Add("model-" + std::to_string(m));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const auto snapshot = counters.Snapshot();
  ASSERT_EQ(snapshot.size(), 50u);  // no label twice, nothing folded
  for (const auto& [label, count] : snapshot) EXPECT_EQ(count, kThreads * kRounds) << label;
}

TEST(EioCauseTest, ReadsTheCauseFromTheStatus) {
  EXPECT_EQ(EioCauseOf(Status::Corruption("chunk ab: checksum mismatch")), EioCause::kCorruptChunk);
  // The mount wraps store errors in an I/O error naming the file.
  const Status corrupt = Status::Corruption("chunk ab: checksum mismatch");
  EXPECT_EQ(EioCauseOf(Status::IOError("reading m@1:f at offset 0+4096, chunks ab: " +
                                       corrupt.ToString())),
            EioCause::kCorruptChunk);
  EXPECT_EQ(EioCauseOf(Status::IOError("reading m@1:f: I/O error: fetching chunk ab from packs/x "
                                       "of s3://b: timed out after 30001 ms")),
            EioCause::kRemoteTimeout);
  EXPECT_EQ(EioCauseOf(Status::IOError("reading m@1:f: I/O error: fetching chunk ab from packs/x "
                                       "of s3://b: gave up GET after 5 attempts")),
            EioCause::kRemoteUnavailable);
  const Status missing = Status::NotFound("chunk ab is missing from the store");
  EXPECT_EQ(EioCauseOf(missing), EioCause::kMissingKey);
  EXPECT_EQ(EioCauseOf(Status::IOError("opening m@1:f (file cd): " + missing.ToString())),
            EioCause::kMissingKey);
  EXPECT_EQ(EioCauseOf(Status::IOError("disk on fire")), EioCause::kOther);
}

MetricsSample BusySample() {
  MetricsSample sample;
  for (size_t op = 0; op < kFuseOpCount; ++op) {
    sample.requests[op] = 10 + op;
    sample.bytes[op] = 1000 * op;
  }
  sample.eio[static_cast<size_t>(EioCause::kCorruptChunk)] = 3;
  Histogram reads(LatencyBoundsNs());
  for (uint64_t ns :
       {uint64_t{20'000}, uint64_t{70'000}, uint64_t{3'000'000}, uint64_t{20'000'000'000}})
    reads.Observe(ns);
  sample.read_ns = reads.Snapshot();
  sample.model_opens = {{"bert", 7}, {"we\"ird\\name", 2}, {"_other", 1}};
  sample.store_kind = "remote";  // every family, the remote ones included
  sample.store.cache_hits = 90;
  sample.store.cache_misses = 10;
  sample.store.cache_bytes = 1 << 20;
  sample.store.cache_capacity_bytes = 256 << 20;
  sample.store.fetch_seconds = reads.Snapshot();
  sample.store.remote_fetch_seconds = reads.Snapshot();
  sample.store.remote_requests = 5;
  sample.readahead = {4, 3, 1};
  sample.catalog_generation = 12;
  sample.catalog_age_seconds = 0.25;
  sample.access_log = true;
  sample.access_records = 9;
  sample.access_lost = 1;
  return sample;
}

TEST(MetricsTextTest, ParsesBackToTheSampledNumbers) {
  const ScrapedMetrics parsed = ScrapedMetrics::Parse(MetricsText(BusySample()));
  EXPECT_EQ(parsed.Value("re2po_fuse_requests_total", {{"operation", "read"}}),
            10 + static_cast<double>(FuseOp::kRead));
  EXPECT_EQ(parsed.Value("re2po_fuse_eio_replies_total", {{"cause", "corrupt_chunk"}}), 3);
  EXPECT_EQ(parsed.Sum("re2po_fuse_eio_replies_total"), 3);
  EXPECT_EQ(parsed.Value("re2po_model_opens_total", {{"model", "we\"ird\\name"}}), 2);
  EXPECT_EQ(parsed.Value("re2po_model_opens_total", {{"model", "_other"}}), 1);
  EXPECT_EQ(parsed.Value("re2po_fuse_read_duration_seconds_count"), 4);
  EXPECT_EQ(parsed.Value("re2po_fuse_read_duration_seconds_bucket", {{"le", "5e-05"}}), 1);
  EXPECT_EQ(parsed.Value("re2po_fuse_read_duration_seconds_bucket", {{"le", "+Inf"}}), 4);
  EXPECT_DOUBLE_EQ(parsed.Value("re2po_fuse_read_duration_seconds_sum"), 20.00309);
  EXPECT_EQ(parsed.Value("re2po_chunk_cache_hits_total"), 90);
  EXPECT_EQ(parsed.Value("re2po_store_info", {{"kind", "remote"}}), 1);
  EXPECT_EQ(parsed.Value("re2po_remote_requests_total"), 5);
  EXPECT_EQ(parsed.Value("re2po_catalog_generation"), 12);
  EXPECT_EQ(parsed.Value("re2po_access_log_lost_records_total"), 1);
}

TEST(MetricsTextTest, LeavesOutWhatALocalMountHasNot) {
  MetricsSample sample = BusySample();
  sample.store_kind = "local";
  sample.access_log = false;
  const ScrapedMetrics parsed = ScrapedMetrics::Parse(MetricsText(sample));
  EXPECT_TRUE(parsed.Has("re2po_store_fetches_total"));
  EXPECT_FALSE(parsed.Has("re2po_remote_requests_total"));
  EXPECT_FALSE(parsed.Has("re2po_access_log_records_total"));
}

// promtool (Debian: prometheus) checks the format and lints the names
// (counters end in _total, units in base units, help on every family).
TEST(MetricsTextTest, PassesPromtoolCheckMetrics) {
  if (RunCommand("command -v promtool").exit_code != 0) {
    GTEST_SKIP() << "promtool is not installed (apt-get install prometheus): format not checked";
  }
  TempDir dir;
  for (const char* kind : {"local", "remote"}) {
    MetricsSample sample = BusySample();
    sample.store_kind = kind;
    const std::filesystem::path file = dir.path() / (std::string(kind) + ".prom");
    WriteFileText(file, MetricsText(sample));
    const CommandResult checked =
        RunCommand("promtool check metrics < " + ShellQuote(file.string()) + " 2>&1");
    EXPECT_EQ(checked.exit_code, 0) << kind << ":\n" << checked.out << checked.err;
    EXPECT_EQ(checked.out, "") << kind << ": promtool has remarks:\n" << checked.out;
  }
}

}  // namespace
}  // namespace re2po::fs
