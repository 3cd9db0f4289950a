#include "store/fetch_counters.h"

namespace re2po {

uint64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

void FetchCounters::Fetched(std::chrono::steady_clock::time_point start, bool ok) {
  fetches_.fetch_add(1, std::memory_order_relaxed);
  if (!ok) errors_.fetch_add(1, std::memory_order_relaxed);
  ns_.Observe(NanosSince(start));
}

StoreCounters FetchCounters::Snapshot(const ChunkCache& memory) const {
  StoreCounters counters;
  const ChunkCacheCounters cache = memory.Counters();
  counters.cache_hits = cache.hits;
  counters.cache_misses = cache.misses;
  counters.cache_evictions = cache.evictions;
  counters.cache_bytes = cache.bytes;
  counters.cache_capacity_bytes = cache.capacity_bytes;
  counters.fetches = fetches_.load(std::memory_order_relaxed);
  counters.fetch_bytes = bytes_.load(std::memory_order_relaxed);
  counters.fetch_errors = errors_.load(std::memory_order_relaxed);
  counters.fetch_seconds = ns_.Snapshot();
  return counters;
}

}  // namespace re2po
