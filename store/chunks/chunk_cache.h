// A bounded, sharded LRU of decompressed chunks. Each shard has its own
// mutex so parallel FUSE readers rarely contend; the bound is on bytes.
// What it did is counted in relaxed atomics, so reading the counters (a
// metrics scrape) never takes a shard's mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "store/base/digest.h"
#include "store/chunks/chunk_bytes.h"

namespace re2po {

struct ChunkCacheCounters {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t bytes = 0;  // held now
  uint64_t capacity_bytes = 0;
};

class ChunkCache {
 public:
  ChunkCache(size_t capacity_bytes, size_t shards);

  // Counted as a hit or a miss.
  ChunkBytes Lookup(const Digest& digest);
  // Not counted: a second look by a fetch that already counted its miss.
  ChunkBytes LookupAgain(const Digest& digest);
  // Neither counted nor moved to the front of the LRU.
  bool Contains(const Digest& digest) const;
  void Insert(const Digest& digest, ChunkBytes bytes);
  size_t charged_bytes() const { return charged_total_.load(std::memory_order_relaxed); }
  ChunkCacheCounters Counters() const;

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::list<std::pair<Digest, ChunkBytes>> lru;  // front = most recent
    std::unordered_map<Digest, std::list<std::pair<Digest, ChunkBytes>>::iterator, DigestHash>
        index;
    size_t charged = 0;
  };
  Shard& ShardFor(const Digest& digest) const;
  ChunkBytes Find(const Digest& digest);
  void EvictLocked(Shard& shard);

  size_t shard_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<size_t> charged_total_{0};
};

}  // namespace re2po
