#include "store/chunks/chunk_cache.h"

#include <algorithm>

namespace re2po {

ChunkCache::ChunkCache(size_t capacity_bytes, size_t shards) {
  shards = std::max<size_t>(shards, 1);
  shard_capacity_ = capacity_bytes / shards;
  for (size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

ChunkCache::Shard& ChunkCache::ShardFor(const Digest& digest) const {
  // Byte 8 on: DigestHash uses the first bytes, keep shard choice independent.
  return *shards_[digest.bytes[8] % shards_.size()];
}

ChunkBytes ChunkCache::Lookup(const Digest& digest) {
  ChunkBytes found = Find(digest);
  (found ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return found;
}

ChunkBytes ChunkCache::LookupAgain(const Digest& digest) { return Find(digest); }

bool ChunkCache::Contains(const Digest& digest) const {
  const Shard& shard = ShardFor(digest);
  std::lock_guard lock(shard.mutex);
  return shard.index.contains(digest);
}

ChunkBytes ChunkCache::Find(const Digest& digest) {
  Shard& shard = ShardFor(digest);
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(digest);
  if (it == shard.index.end()) return nullptr;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->second;
}

void ChunkCache::Insert(const Digest& digest, ChunkBytes bytes) {
  // Charged by capacity: pooled buffers (store/chunks/chunk_pool.h) may be larger
  // than the chunk, and the bound is on memory.
  if (shard_capacity_ == 0 || bytes->capacity() > shard_capacity_) return;
  Shard& shard = ShardFor(digest);
  std::lock_guard lock(shard.mutex);
  if (shard.index.contains(digest)) return;
  const size_t before = shard.charged;
  shard.charged += bytes->capacity();
  shard.lru.emplace_front(digest, std::move(bytes));
  shard.index.emplace(digest, shard.lru.begin());
  EvictLocked(shard);
  // The net change once the shard is back within its bound, so the total
  // read by a scrape never counts a chunk that is on its way out.
  if (shard.charged >= before) {
    charged_total_.fetch_add(shard.charged - before, std::memory_order_relaxed);
  } else {
    charged_total_.fetch_sub(before - shard.charged, std::memory_order_relaxed);
  }
}

void ChunkCache::EvictLocked(Shard& shard) {
  while (shard.charged > shard_capacity_ && !shard.lru.empty()) {
    auto& victim = shard.lru.back();
    shard.charged -= victim.second->capacity();
    evictions_.fetch_add(1, std::memory_order_relaxed);
    shard.index.erase(victim.first);
    shard.lru.pop_back();
  }
}

ChunkCacheCounters ChunkCache::Counters() const {
  ChunkCacheCounters counters;
  counters.hits = hits_.load(std::memory_order_relaxed);
  counters.misses = misses_.load(std::memory_order_relaxed);
  counters.evictions = evictions_.load(std::memory_order_relaxed);
  counters.bytes = charged_total_.load(std::memory_order_relaxed);
  counters.capacity_bytes = shard_capacity_ * shards_.size();
  return counters;
}

}  // namespace re2po
