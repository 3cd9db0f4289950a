// MountedRepository: what df and the metrics endpoint are told. Nothing
// here takes a lock a FUSE request takes, except StatFs's catalog pointer
// copy (a statfs is itself a request).
#include <chrono>

#include "fs/core/mounted_repo.h"
#include "fs/core/statfs.h"

namespace re2po::fs {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void MountedRepository::CatalogRefreshed(const CatalogSnapshot& catalog) {
  catalog_generation_.store(catalog.generation(), std::memory_order_relaxed);
  last_refresh_ns_.store(SteadyNowNs(), std::memory_order_relaxed);
}

struct statvfs MountedRepository::StatFs() {
  RepositorySize size = SizeOfCatalog(*catalog());
  if (store_->Kind() == "remote") {
    size.node = true;
    const StoreCounters counters = store_->Counters();
    size.cache_bytes = counters.disk_cache_bytes;
    size.cache_limit_bytes = counters.disk_cache_limit_bytes;
    if (size.cache_limit_bytes == 0) {
      // A node store that does not report its cache yet: what is on disk.
      Result<StoreStats> stats = store_->Stats();
      if (stats.ok()) size.cache_bytes = stats->disk_bytes;
    }
  }
  return StatfsOf(size);
}

MetricsSample MountedRepository::SampleMetrics() const {
  MetricsSample sample;
  for (size_t op = 0; op < kFuseOpCount; ++op) {
    sample.requests[op] = metrics_.requests(static_cast<FuseOp>(op));
    sample.bytes[op] = metrics_.bytes(static_cast<FuseOp>(op));
  }
  for (size_t cause = 0; cause < kEioCauseCount; ++cause) {
    sample.eio[cause] = metrics_.eio(static_cast<EioCause>(cause));
  }
  sample.read_ns = metrics_.read_latency();
  sample.model_opens = metrics_.model_opens();
  sample.store_kind = std::string(store_->Kind());
  sample.store = store_->Counters();
  sample.readahead = prefetcher_.counters();
  sample.catalog_generation = catalog_generation_.load(std::memory_order_relaxed);
  sample.catalog_age_seconds =
      static_cast<double>(SteadyNowNs() - last_refresh_ns_.load(std::memory_order_relaxed)) / 1e9;
  sample.refresh_failures = refresh_failures_.load(std::memory_order_relaxed);
  if (access_log_) {
    sample.access_log = true;
    sample.access_records = access_log_->written();
    sample.access_lost = access_log_->lost();
  }
  return sample;
}

}  // namespace re2po::fs
