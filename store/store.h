// The store: one directory holding one RocksDB database (chunks, recipes,
// file info, catalog, metadata) plus the writer lock. Writers (import, rm,
// gc) take the lock and open the database read-write; readers (listings,
// export, verify, mounts) open it as a RocksDB secondary, so neither ever
// blocks the other. See docs/architecture.md.
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
#include <vector>

#include "store/catalog.h"
#include "store/codec.h"
#include "store/records.h"
#include "store/status.h"

namespace re2po {

// 1: the first layout. 2: chunk values may carry a checksum and use the
// byte-plane codec (docs/format.md). A writer opening a schema-1 store
// records 2 before it writes anything; schema-1 values stay readable.
inline constexpr uint32_t kSchemaVersion = 2;

// Called with (bytes done, bytes total) as long operations advance.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

struct StoreOptions {
  std::filesystem::path dir;
  bool writer = false;
  // How long a writer waits for another writer before giving up.
  std::chrono::seconds lock_timeout{300};
  // Told once when a writer has to wait (e.g. "waiting for import by pid 42").
  std::function<void(const std::string&)> on_lock_wait;
  size_t cache_bytes = size_t{256} << 20;  // decompressed chunk cache
  size_t cache_shards = 16;
};

struct ImportRequest {
  std::string model;
  std::optional<uint64_t> version;  // latest + 1 when absent
  std::filesystem::path source;     // a file or a directory
  std::map<std::string, std::string> labels;
  bool format_aware = true;  // false: generic content-defined chunking only
  // Store changed tensors as differences from the last stored tensor of the
  // same name, type and shape when that is smaller (store/delta_bases.h).
  bool delta = true;
  CodecOptions codec;
  ProgressFn progress;
};

struct FileImportInfo {
  std::string path;
  std::string format;
  std::string fallback_reason;
  uint64_t size = 0;
  uint64_t tensors = 0;
};

struct ImportSummary {
  VersionRecord version;
  uint64_t new_raw_bytes = 0;  // uncompressed bytes of chunks this import added
  uint64_t chunks = 0;
  uint64_t new_chunks = 0;
  uint64_t delta_chunks = 0;     // new chunks stored as differences from earlier ones
  uint64_t delta_raw_bytes = 0;  // their uncompressed bytes
  std::map<std::string, uint64_t> files_per_format;
  std::vector<FileImportInfo> files;
  std::vector<std::string> warnings;  // skipped specials, hard links, ...
  double seconds = 0;
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
  std::vector<DamagedChunk> damaged;
  bool ok() const { return damaged.empty(); }
};

struct StoreStats {
  uint64_t models = 0;
  uint64_t versions = 0;
  uint64_t logical_bytes = 0;  // sum over versions of their files' sizes
  uint64_t unique_bytes = 0;   // uncompressed bytes of distinct chunks
  uint64_t stored_bytes = 0;   // compressed bytes of distinct chunks
  uint64_t chunk_count = 0;
  uint64_t disk_bytes = 0;  // size of the store directory on disk
};

// A decompressed, verified chunk, shared between the cache and readers.
using ChunkBytes = std::shared_ptr<const std::vector<uint8_t>>;

// Bytes [offset, offset + length) of one chunk: a file read is a run of
// these, which a reader can hand on (to the kernel) without copying.
struct ChunkSlice {
  ChunkBytes chunk;
  size_t offset = 0;
  size_t length = 0;
};
// Copies the slices one after another into `out` (large enough); returns the count.
size_t CopySlices(const std::vector<ChunkSlice>& slices, std::span<uint8_t> out);

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
  // The slices holding up to `length` bytes of a file at `offset`, in order
  // (none at or past EOF). Touches only the chunks the range overlaps.
  virtual Result<std::vector<ChunkSlice>> ReadSlices(const Recipe& recipe, uint64_t offset,
                                                     size_t length) = 0;
  // The same bytes copied into `out` (up to out.size()); returns the count.
  Result<size_t> ReadFile(const Recipe& recipe, uint64_t offset, std::span<uint8_t> out);
  virtual Result<VerifyReport> Verify(const ProgressFn& progress) = 0;
  virtual Result<StoreStats> Stats() = 0;
  virtual const std::filesystem::path& dir() const = 0;

  // --- writing (writer mode only; Busy otherwise)
  virtual Result<ImportSummary> Import(const ImportRequest& request) = 0;
  virtual Status Remove(const std::string& model, uint64_t version) = 0;
  virtual Result<GcSummary> CollectGarbage(const ProgressFn& progress) = 0;
};

// Parses "model@version" or "model" (version absent).
struct VersionRef {
  std::string model;
  std::optional<uint64_t> version;
};
Result<VersionRef> ParseVersionRef(std::string_view text);

}  // namespace re2po
