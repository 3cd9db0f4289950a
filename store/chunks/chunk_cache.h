// A bounded, sharded LRU of decompressed chunks. Each shard has its own
// mutex so parallel FUSE readers rarely contend; the bound is on bytes.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "store/base/digest.h"
#include "store/chunks/chunk_bytes.h"

namespace re2po {

class ChunkCache {
 public:
  ChunkCache(size_t capacity_bytes, size_t shards);

  ChunkBytes Lookup(const Digest& digest);
  void Insert(const Digest& digest, ChunkBytes bytes);
  size_t charged_bytes() const;

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::list<std::pair<Digest, ChunkBytes>> lru;  // front = most recent
    std::unordered_map<Digest, std::list<std::pair<Digest, ChunkBytes>>::iterator, DigestHash>
        index;
    size_t charged = 0;
  };
  Shard& ShardFor(const Digest& digest);
  void EvictLocked(Shard& shard);

  size_t shard_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace re2po
