// Micro-benchmarks of what the access log and the metrics add to the read
// path, per open and per FUSE read, beside the copy every read makes anyway
// (memcpy of a 128 KiB read): multiplied by the opens and reads of a model
// load, they bound the cost of observability without the noise of timing
// whole loads (docs/performance.md, "Observability cost").
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "fs/core/access_log.h"
#include "fs/core/metrics.h"
#include "store/base/clock.h"

namespace re2po::fs {
namespace {

constexpr size_t kFuseRead = 128 << 10;

void BM_CopyOfAFuseRead(benchmark::State& state) {
  std::vector<uint8_t> from(kFuseRead, 7), to(kFuseRead);
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), to.size());
    benchmark::DoNotOptimize(to.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_CopyOfAFuseRead);

// Per FUSE read with metrics on: the request and byte counters and the
// latency histogram, with the two clock reads that time it.
void BM_MetricsOfAFuseRead(benchmark::State& state) {
  MountMetrics metrics(/*enabled=*/true);
  for (auto _ : state) {
    const int64_t start = NowNs();
    metrics.Request(FuseOp::kRead);
    metrics.Bytes(FuseOp::kRead, kFuseRead);
    metrics.ReadLatency(static_cast<uint64_t>(NowNs() - start));
  }
  benchmark::DoNotOptimize(metrics.requests(FuseOp::kRead));
}
BENCHMARK(BM_MetricsOfAFuseRead)->Threads(1)->Threads(2);

// Per open with the access log on, on the caller's (FUSE) thread: who
// opened (three small /proc reads) ...
void BM_IdentifyTheOpener(benchmark::State& state) {
  const pid_t self = gettid();
  for (auto _ : state) benchmark::DoNotOptimize(IdentifyProcess(self));
}
BENCHMARK(BM_IdentifyTheOpener);

AccessRecord TypicalRecord() {
  AccessRecord record;
  record.time_ns = NowNs();
  record.model = "efficientnet_b0-pets";
  record.version = 1;
  record.path = "model.pt";
  record.uid = 1000;
  record.pid = 4242;
  record.command = "python3";
  record.cgroup = "/kubepods/burstable/pod1234/0123456789abcdef";
  record.served_from = "store";
  record.mount = "0123456789abcdef";
  return record;
}

// ... and handing the record to the writer thread.
void BM_SubmitAnAccessRecord(benchmark::State& state) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("re2po-observe-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  AccessLogOptions options;
  options.path = dir / "access.jsonl";
  options.queue_records = 1 << 20;
  Result<std::unique_ptr<AccessLog>> log = AccessLog::Open(options);
  if (!log.ok()) {
    state.SkipWithError(log.status().ToString().c_str());
    return;
  }
  const AccessRecord record = TypicalRecord();
  for (auto _ : state) benchmark::DoNotOptimize((*log)->Submit(record));
  log->reset();  // drains and closes before the files go
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SubmitAnAccessRecord);

// Off the read path (the writer thread): one record as a JSON line.
void BM_AccessRecordAsJson(benchmark::State& state) {
  const AccessRecord record = TypicalRecord();
  for (auto _ : state) benchmark::DoNotOptimize(AccessRecordJson(record));
}
BENCHMARK(BM_AccessRecordAsJson);

}  // namespace
}  // namespace re2po::fs
