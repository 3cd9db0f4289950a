// The counting both stores do for StoreCounters: chunks fetched from this
// machine's storage (a local store's database, a node's disk cache) and
// their memory cache. Relaxed atomics only: a scrape never waits for a read.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "store/base/histogram.h"
#include "store/chunks/chunk_cache.h"
#include "store/store.h"

namespace re2po {

class FetchCounters {
 public:
  // One fetch that began at `start`: read, checked, decoded (or not).
  void Fetched(std::chrono::steady_clock::time_point start, bool ok);
  void AddBytes(uint64_t stored_bytes) {
    bytes_.fetch_add(stored_bytes, std::memory_order_relaxed);
  }

  // The memory cache and fetch parts of a store's counters.
  StoreCounters Snapshot(const ChunkCache& memory) const;

 private:
  std::atomic<uint64_t> fetches_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> errors_{0};
  Histogram ns_{LatencyBoundsNs()};
};

uint64_t NanosSince(std::chrono::steady_clock::time_point start);

}  // namespace re2po
