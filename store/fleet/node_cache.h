// A node's cache of a remote, in its own directory: a RocksDB database of
// the chunk values it fetched (verified first), bounded in bytes, least
// recently used evicted first, plus what it needs to mount while the remote
// is down: the catalog state it accepted and the version objects. One
// process owns a cache at a time (a lock file); it survives restarts.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/base/digest.h"
#include "store/base/status.h"
#include "store/db/db.h"
#include "store/db/writer_lock.h"

namespace re2po {

inline constexpr uint64_t kDefaultNodeCacheBytes = uint64_t{20} << 30;

struct NodeCacheOptions {
  std::filesystem::path dir;
  // The bound, kept in the cache for the next process that opens it
  // without one (`re2po pull`, `re2po cache stats`): the bound the mount
  // set, else kDefaultNodeCacheBytes.
  std::optional<uint64_t> max_bytes;
  // How long to wait for another process that holds the cache.
  std::chrono::seconds lock_timeout{0};
};

struct NodeCacheStats {
  uint64_t chunks = 0;
  uint64_t bytes = 0;  // stored bytes of the cached chunk values
  uint64_t max_bytes = 0;
  uint64_t evicted_chunks = 0;  // since open
  uint64_t evicted_bytes = 0;
  uint64_t disk_bytes = 0;  // the directory on disk
};

class NodeCache {
 public:
  static Result<std::unique_ptr<NodeCache>> Open(const NodeCacheOptions& options);
  ~NodeCache();

  // A cached chunk value, marked as just used; nullopt when not cached.
  Result<std::optional<std::string>> Get(const Digest& chunk);
  bool Contains(const Digest& chunk) const;
  // Adds verified chunk values, first evicting the least recently used
  // until they fit the bound.
  Status Put(const std::vector<std::pair<Digest, std::string>>& values);

  // Small records of the node (catalog state, version objects, ids).
  Result<std::optional<std::string>> GetRecord(std::string_view key) const;
  Status PutRecord(std::string_view key, std::string_view value);

  NodeCacheStats Stats() const;
  // What the chunks take and the bound, without the lock: for metrics,
  // which must never wait for a reader.
  uint64_t bytes_held() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t max_bytes() const { return max_bytes_; }
  // Drops one chunk (found damaged).
  Status Drop(const Digest& chunk);
  // Drops every chunk (records stay: the node can still mount).
  Status ClearChunks();
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Entry {
    std::list<Digest>::iterator position;  // in lru_
    uint64_t size = 0;
  };
  NodeCache(std::filesystem::path dir, std::unique_ptr<WriterLock> lock, std::unique_ptr<Db> db,
            uint64_t max_bytes);
  Status LoadUsage();
  Result<uint64_t> Bound(std::optional<uint64_t> given);
  void Touch(const Digest& chunk, Entry& entry, WriteBatch& batch);
  void EvictFor(uint64_t incoming, WriteBatch& batch);

  std::filesystem::path dir_;
  std::unique_ptr<WriterLock> lock_;
  std::unique_ptr<Db> db_;
  uint64_t max_bytes_;        // set once, in Open
  mutable std::mutex mutex_;  // guards the usage below, never held across a fetch
  std::list<Digest> lru_;     // front: most recently used
  std::unordered_map<Digest, Entry, DigestHash> entries_;
  std::atomic<uint64_t> bytes_{0};  // atomic for bytes_held(); changed under mutex_
  uint64_t tick_ = 0;
  uint64_t evicted_chunks_ = 0;
  uint64_t evicted_bytes_ = 0;
};

}  // namespace re2po
