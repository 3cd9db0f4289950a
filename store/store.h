// The store: one directory holding one RocksDB database (chunks, recipes,
// file info, catalog, metadata) plus the writer lock. Writers (import, rm,
// gc) take the lock and open the database read-write; readers (listings,
// export, verify, mounts) open it read-only and reopen it to catch up, so
// neither ever blocks the other. This is what the mount and the CLI program
// against; the folders below it are its parts (docs/architecture.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/histogram.h"
#include "store/base/progress.h"
#include "store/base/status.h"
#include "store/catalog/catalog.h"
#include "store/catalog/records.h"
#include "store/chunks/chunk_bytes.h"
#include "store/crypto/keyring.h"
#include "store/import/import_request.h"

namespace re2po {

struct StoreOptions {
  std::filesystem::path dir;
  bool writer = false;
  // How long a writer waits for another writer before giving up.
  std::chrono::seconds lock_timeout{300};
  // Told once when a writer has to wait (e.g. "waiting for import by pid 42").
  std::function<void(const std::string&)> on_lock_wait;
  size_t cache_bytes = size_t{256} << 20;  // decompressed chunk cache
  size_t cache_shards = 16;
  // Keys of protected models (codec 4); without one, their chunks read as
  // PermissionDenied.
  std::shared_ptr<const Keyring> keyring;
};

struct GcSummary {
  uint64_t chunks_removed = 0;
  uint64_t recipes_removed = 0;
  uint64_t bytes_removed = 0;  // stored bytes of the removed chunks
  uint64_t disk_bytes_before = 0;
  uint64_t disk_bytes_after = 0;
};

struct DamagedChunk {
  Digest chunk;
  std::string problem;
  std::vector<std::string> users;  // "model@version:path"
};

struct VerifyReport {
  uint64_t chunks_checked = 0;
  uint64_t bytes_checked = 0;
  uint64_t files_checked = 0;
  // Chunks of protected models whose key the keyring lacks: neither checked
  // nor damaged.
  uint64_t sealed_unchecked = 0;
  std::vector<DamagedChunk> damaged;
  bool ok() const { return damaged.empty(); }
};

// Distinct chunks stored one way, and their bytes.
struct StorageKindStats {
  uint64_t chunks = 0;
  uint64_t raw_bytes = 0;
  uint64_t stored_bytes = 0;
};

struct StoreStats {
  uint64_t models = 0;
  uint64_t versions = 0;
  uint64_t logical_bytes = 0;  // sum over versions of their files' sizes
  uint64_t unique_bytes = 0;   // uncompressed bytes of distinct chunks
  uint64_t stored_bytes = 0;   // compressed bytes of distinct chunks
  uint64_t chunk_count = 0;
  uint64_t disk_bytes = 0;  // size of the store directory on disk
  // "whole" (compressed on its own), "delta", or a derivation's name
  // ("cast f16", "quantized i8", ...): what each kind of chunk saves.
  std::map<std::string, StorageKindStats> by_kind;
};

// What a store has done since it was opened, for the mount's metrics. Plain
// monotonic counters except where marked (gauges); Counters() reads atomics
// only, so a scrape never waits for a read. A local store fills the cache
// and fetch parts; a node also fills the remote and disk cache parts.
struct StoreCounters {
  // The decoded-chunk cache in memory. Lookups by readers and by read-ahead.
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t cache_evictions = 0;
  uint64_t cache_bytes = 0;           // gauge: memory held
  uint64_t cache_capacity_bytes = 0;  // gauge: its bound
  // Chunks fetched from this machine's storage (the store's database, a
  // node's disk cache): each a read, a check and a decode.
  uint64_t fetches = 0;
  uint64_t fetch_bytes = 0;  // as stored (compressed)
  uint64_t fetch_errors = 0;
  HistogramSnapshot fetch_seconds;  // in ns, as observed
  // A node's requests to its remote (zero for a local store).
  uint64_t remote_requests = 0;
  uint64_t remote_bytes = 0;  // received
  uint64_t remote_errors = 0;
  uint64_t remote_retries = 0;
  HistogramSnapshot remote_fetch_seconds;  // in ns
  // A node's disk cache (gauges; zero for a local store).
  uint64_t disk_cache_bytes = 0;
  uint64_t disk_cache_limit_bytes = 0;
};

class Store;

// The slices of `recipe` holding up to `length` bytes at `offset`, each
// chunk through store.ReadChunk: how every Store implements ReadSlices.
Result<std::vector<ChunkSlice>> SlicesOfRecipe(Store& store, const Recipe& recipe, uint64_t offset,
                                               size_t length);

class Store {
 public:
  // Creates an empty store in `dir` (which may exist but must be empty).
  static Status Init(const std::filesystem::path& dir);
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  virtual ~Store() = default;

  // --- reading (any mode)
  // The catalog as of the last Refresh (or open). Cheap: a pointer copy.
  virtual std::shared_ptr<const CatalogSnapshot> Catalog() const = 0;
  // Catches up with commits made by writers since; true if the catalog changed.
  virtual Result<bool> Refresh() = 0;
  virtual Result<std::shared_ptr<const VersionTree>> Tree(const VersionRecord& version) = 0;
  virtual Result<std::shared_ptr<const Recipe>> FileRecipe(const Digest& file) = 0;
  virtual Result<FileInfo> FileDetails(const Digest& file) = 0;
  // Fetches, decompresses and checks one chunk (through the cache). A chunk
  // whose bytes do not hash to its name is Corruption, never returned.
  virtual Result<ChunkBytes> ReadChunk(const Digest& chunk) = 0;
  // A chunk as stored (codec byte, size, checksum, payload) and its info:
  // what a push copies to a remote as is.
  virtual Result<std::string> StoredChunkValue(const Digest& chunk) = 0;
  virtual Result<ChunkInfo> ChunkDetails(const Digest& chunk) = 0;
  // The slices holding up to `length` bytes of a file at `offset`, in order
  // (none at or past EOF). Touches only the chunks the range overlaps.
  virtual Result<std::vector<ChunkSlice>> ReadSlices(const Recipe& recipe, uint64_t offset,
                                                     size_t length) = 0;
  // A hint that `recipe` is about to be read whole, from byte `from` on:
  // a store whose chunks are far away (a node's remote) starts fetching
  // them together. Returns at once; reads are served as without it.
  virtual void ExpectReads(const Recipe& /*recipe*/, uint64_t /*from*/) {}
  // The same bytes copied into `out` (up to out.size()); returns the count.
  Result<size_t> ReadFile(const Recipe& recipe, uint64_t offset, std::span<uint8_t> out);
  virtual Result<VerifyReport> Verify(const ProgressFn& progress) = 0;
  // The signature kept beside a version (`re2po sign`), if any; checking it
  // is the caller's (it needs the signer's public key).
  virtual Result<std::optional<VersionSignature>> SignatureOf(const VersionRecord& /*version*/) {
    return std::optional<VersionSignature>();
  }
  virtual Result<StoreStats> Stats() = 0;
  virtual const std::filesystem::path& dir() const = 0;
  // Where chunks come from: "local" (this machine's store) or "remote" (a
  // node of a remote). Said in the access log and the metrics.
  virtual std::string_view Kind() const { return "local"; }
  // Never blocks a reader: atomics only.
  virtual StoreCounters Counters() const { return {}; }
  // Whether the chunk is decoded in memory now; neither a lookup (not
  // counted, not moved in the LRU) nor a promise that it stays.
  virtual bool ChunkCached(const Digest& /*chunk*/) const { return false; }

  // Touches `buffer_bytes` of decode buffers and leaves `heap_slack` bytes
  // of malloc heap touched, so the first cold reads do not pay for page
  // faults (a mount calls this once it answers, off the first load's path).
  static void WarmReadBuffers(size_t buffer_bytes, size_t heap_slack);

  // --- writing (writer mode only; Busy otherwise)
  virtual Result<ImportSummary> Import(const ImportRequest& request) = 0;
  virtual Status Remove(const std::string& model, uint64_t version) = 0;
  // Replaces who may read `model` on a mount, as a new catalog state. The
  // model need not exist yet: a model protected before its first import
  // is never visible unprotected. Default access on a model without
  // versions forgets it.
  virtual Status SetModelAccess(const std::string& model, const ModelAccess& access) = 0;
  // Keeps `signature` beside the version (replacing any); a new catalog
  // generation, so readers see it, though the version is unchanged.
  virtual Status PutSignature(const VersionRecord& version, const VersionSignature& signature) = 0;
  virtual Result<GcSummary> CollectGarbage(const ProgressFn& progress) = 0;
};

}  // namespace re2po
