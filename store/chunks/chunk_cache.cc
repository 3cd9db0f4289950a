#include "store/chunks/chunk_cache.h"

#include <algorithm>

namespace re2po {

ChunkCache::ChunkCache(size_t capacity_bytes, size_t shards) {
  shards = std::max<size_t>(shards, 1);
  shard_capacity_ = capacity_bytes / shards;
  for (size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

ChunkCache::Shard& ChunkCache::ShardFor(const Digest& digest) {
  // Byte 8 on: DigestHash uses the first bytes, keep shard choice independent.
  return *shards_[digest.bytes[8] % shards_.size()];
}

ChunkBytes ChunkCache::Lookup(const Digest& digest) {
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
  shard.charged += bytes->capacity();
  shard.lru.emplace_front(digest, std::move(bytes));
  shard.index.emplace(digest, shard.lru.begin());
  EvictLocked(shard);
}

void ChunkCache::EvictLocked(Shard& shard) {
  while (shard.charged > shard_capacity_ && !shard.lru.empty()) {
    auto& victim = shard.lru.back();
    shard.charged -= victim.second->capacity();
    shard.index.erase(victim.first);
    shard.lru.pop_back();
  }
}

size_t ChunkCache::charged_bytes() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->charged;
  }
  return total;
}

}  // namespace re2po
