#include "store/fleet/node_cache.h"

#include <algorithm>

#include "store/base/coding.h"
#include "store/base/free_space.h"
#include "store/base/log.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

// kChunkInfo of a cache: chunk digest -> fixed64 value size, fixed64 tick
// of its last use (docs/format.md, "Node cache").
std::string UsageValue(uint64_t size, uint64_t tick) {
  std::string value;
  PutFixed64(value, size);
  PutFixed64(value, tick);
  return value;
}

// kCatalog record: fixed64 bound in bytes, the last one given.
constexpr std::string_view kBoundRecord = "bound";

struct Usage {
  Digest chunk;
  uint64_t size = 0;
  uint64_t tick = 0;
};

Result<Usage> ParseUsage(std::string_view key, std::string_view value) {
  Usage usage;
  ASSIGN_OR_RETURN(usage.chunk, Digest::FromView(key));
  Decoder decoder(value, "cache usage");
  RETURN_IF_ERROR(decoder.GetFixed64(usage.size));
  RETURN_IF_ERROR(decoder.GetFixed64(usage.tick));
  return usage;
}

}  // namespace

Result<std::unique_ptr<NodeCache>> NodeCache::Open(const NodeCacheOptions& options) {
  std::error_code error;
  fs::create_directories(options.dir / "db", error);
  if (error) return Status::FromErrno(error.value(), "creating the cache " + options.dir.string());
  ASSIGN_OR_RETURN(std::unique_ptr<WriterLock> lock,
                   WriterLock::Acquire(options.dir, options.lock_timeout, nullptr,
                                       "the node cache " + options.dir.string() +
                                           " is in use by another process (a mount of the "
                                           "remote, a pull or a cache command)"));
  ASSIGN_OR_RETURN(std::unique_ptr<Db> db,
                   Db::Open(options.dir / "db", Db::Mode::kCreate, Db::Profile::kNodeCache));
  std::unique_ptr<NodeCache> cache(
      new NodeCache(options.dir, std::move(lock), std::move(db), kDefaultNodeCacheBytes));
  ASSIGN_OR_RETURN(cache->max_bytes_, cache->Bound(options.max_bytes));
  RETURN_IF_ERROR(cache->LoadUsage());
  return cache;
}

NodeCache::NodeCache(fs::path dir, std::unique_ptr<WriterLock> lock, std::unique_ptr<Db> db,
                     uint64_t max_bytes)
    : dir_(std::move(dir)), lock_(std::move(lock)), db_(std::move(db)), max_bytes_(max_bytes) {}

NodeCache::~NodeCache() = default;

// The bound given (recorded for later openers), else the one recorded.
Result<uint64_t> NodeCache::Bound(std::optional<uint64_t> given) {
  std::string encoded;
  if (given) {
    PutFixed64(encoded, *given);
    RETURN_IF_ERROR(PutRecord(kBoundRecord, encoded));
    return *given;
  }
  ASSIGN_OR_RETURN(auto recorded, GetRecord(kBoundRecord));
  if (!recorded) return kDefaultNodeCacheBytes;
  Decoder decoder(*recorded, "the node cache's bound");
  uint64_t bound = 0;
  RETURN_IF_ERROR(decoder.GetFixed64(bound));
  return bound;
}

// Rebuilds the least-recently-used order from the ticks stored with each
// chunk: the order survives restarts.
Status NodeCache::LoadUsage() {
  std::vector<Usage> usages;
  DbIterator it = db_->NewIterator(Cf::kChunkInfo);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    ASSIGN_OR_RETURN(Usage usage, ParseUsage(it.key(), it.value()));
    usages.push_back(usage);
  }
  RETURN_IF_ERROR(it.status("reading the cache's usage"));
  std::sort(usages.begin(), usages.end(),
            [](const Usage& a, const Usage& b) { return a.tick > b.tick; });
  std::lock_guard lock(mutex_);
  for (const Usage& usage : usages) {
    lru_.push_back(usage.chunk);
    entries_[usage.chunk] = Entry{std::prev(lru_.end()), usage.size};
    bytes_ += usage.size;
    tick_ = std::max(tick_, usage.tick);
  }
  return Status::Ok();
}

void NodeCache::Touch(const Digest& chunk, Entry& entry, WriteBatch& batch) {
  lru_.splice(lru_.begin(), lru_, entry.position);
  batch.Put(Cf::kChunkInfo, chunk.view(), UsageValue(entry.size, ++tick_));
}

Result<std::optional<std::string>> NodeCache::Get(const Digest& chunk) {
  ASSIGN_OR_RETURN(auto value, db_->Get(Cf::kChunks, chunk.view()));
  if (!value) return value;
  WriteBatch batch(*db_);
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(chunk);
    if (it == entries_.end()) return value;  // evicted meanwhile: still good bytes
    Touch(chunk, it->second, batch);
  }
  // Losing a tick to a crash only makes the order a little older.
  RETURN_IF_ERROR(db_->Write(batch, /*durable=*/false));
  return value;
}

bool NodeCache::Contains(const Digest& chunk) const {
  std::lock_guard lock(mutex_);
  return entries_.contains(chunk);
}

void NodeCache::EvictFor(uint64_t incoming, WriteBatch& batch) {
  while (!lru_.empty() && bytes_ + incoming > max_bytes_) {
    const Digest victim = lru_.back();
    const uint64_t size = entries_.at(victim).size;
    lru_.pop_back();
    entries_.erase(victim);
    bytes_ -= size;
    ++evicted_chunks_;
    evicted_bytes_ += size;
    batch.Delete(Cf::kChunks, victim.view());
    batch.Delete(Cf::kChunkInfo, victim.view());
  }
}

Status NodeCache::Put(const std::vector<std::pair<Digest, std::string>>& values) {
  WriteBatch batch(*db_);
  std::lock_guard lock(mutex_);
  uint64_t incoming = 0;
  for (const auto& [chunk, value] : values) {
    if (!entries_.contains(chunk)) incoming += value.size();
  }
  EvictFor(incoming, batch);
  for (const auto& [chunk, value] : values) {
    if (entries_.contains(chunk)) continue;
    lru_.push_front(chunk);
    entries_[chunk] = Entry{lru_.begin(), value.size()};
    bytes_ += value.size();
    batch.Put(Cf::kChunks, chunk.view(), value);
    batch.Put(Cf::kChunkInfo, chunk.view(), UsageValue(value.size(), ++tick_));
  }
  // Under the lock, so the database never holds more than the accounting says.
  return db_->Write(batch, /*durable=*/false);
}

Result<std::optional<std::string>> NodeCache::GetRecord(std::string_view key) const {
  return db_->Get(Cf::kCatalog, key);
}

Status NodeCache::PutRecord(std::string_view key, std::string_view value) {
  WriteBatch batch(*db_);
  batch.Put(Cf::kCatalog, key, value);
  return db_->Write(batch, /*durable=*/true);
}

NodeCacheStats NodeCache::Stats() const {
  NodeCacheStats stats;
  {
    std::lock_guard lock(mutex_);
    stats.chunks = entries_.size();
    stats.bytes = bytes_;
    stats.evicted_chunks = evicted_chunks_;
    stats.evicted_bytes = evicted_bytes_;
  }
  stats.max_bytes = max_bytes_;
  stats.disk_bytes = DiskUsage(dir_);
  return stats;
}

Status NodeCache::Drop(const Digest& chunk) {
  WriteBatch batch(*db_);
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(chunk);
    if (it != entries_.end()) {
      bytes_ -= it->second.size;
      lru_.erase(it->second.position);
      entries_.erase(it);
    }
  }
  batch.Delete(Cf::kChunks, chunk.view());
  batch.Delete(Cf::kChunkInfo, chunk.view());
  return db_->Write(batch, /*durable=*/false);
}

Status NodeCache::ClearChunks() {
  WriteBatch batch(*db_);
  {
    std::lock_guard lock(mutex_);
    for (const auto& [chunk, entry] : entries_) {
      batch.Delete(Cf::kChunks, chunk.view());
      batch.Delete(Cf::kChunkInfo, chunk.view());
    }
    lru_.clear();
    entries_.clear();
    bytes_ = 0;
  }
  RETURN_IF_ERROR(db_->Write(batch, /*durable=*/true));
  return db_->CompactAll(/*collect_blobs=*/false);
}

}  // namespace re2po
