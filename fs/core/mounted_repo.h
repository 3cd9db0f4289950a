// The mounted repository: everything the filesystem shows, with no FUSE in
// it. Each FUSE callback makes one call here and maps the Result to a reply;
// the core can be driven directly by tests and tools.
//
// Readers take a copy of the current catalog snapshot (a shared_ptr) and
// never hold a lock across a store call; Refresh() swaps the snapshot whole,
// so a version is either entirely visible or not at all.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/core/access_log.h"
#include "fs/core/attributes.h"
#include "fs/core/catalog_diff.h"
#include "fs/core/handle_table.h"
#include "fs/core/inode_table.h"
#include "fs/core/metrics.h"
#include "fs/core/metrics_text.h"
#include "fs/core/prefetcher.h"
#include "fs/core/usage_recorder.h"
#include "fs/core/version_cache.h"
#include "store/store.h"

namespace re2po::fs {

struct RepoOptions {
  Owner owner;
  // Kernel cache lifetimes, in seconds: the listings of / and /<model>/ and
  // `latest` change as versions come and go; version contents never change.
  double listing_timeout = 1.0;
  double content_timeout = 3600.0;
  size_t cached_versions = 512;  // version trees kept loaded
  int64_t mounted_ns = 0;        // the root's time while the store is empty
  PrefetchOptions prefetch;
  // Files up to this size are read ahead whole from their first read:
  // frameworks load a model file entirely, and not in one sequential pass
  // (a zip's directory comes first, from its end). 0: sequential reads only.
  uint64_t whole_file_readahead = uint64_t{64} << 20;
  // Count requests, bytes, latencies and opens per model for a metrics
  // endpoint; off, the FUSE callbacks do none of it.
  bool metrics = false;
  // Keys of protected models: a file of a version sealed by a key not in
  // it (or with none) opens as PermissionDenied, which the FUSE edge logs.
  std::shared_ptr<const Keyring> keyring;
};

// What lookup and readdirplus hand to the kernel.
struct EntryReply {
  uint64_t ino = 0;  // 0 in a listing: a name only, no attributes offered
  struct stat attr {};
  double entry_timeout = 0;
  double attr_timeout = 0;
};

struct AttrReply {
  struct stat attr {};
  double timeout = 0;
};

struct DirEntry {
  std::string name;
  mode_t type = 0;  // S_IFDIR, S_IFREG or S_IFLNK
  uint64_t ino = 0;
  EntryReply reply;  // reply.ino != 0: readdirplus offers the attributes
  Node node;         // registered with Remember() once the kernel has it
};
// A directory's entries, "." and ".." first; fixed when the directory is opened.
using DirListing = std::vector<DirEntry>;

struct OpenFile {
  Node node;
  std::shared_ptr<const Recipe> recipe;  // keeps reading after the version is removed
  std::shared_ptr<VersionCounters> usage;
  // Where the last read ended, and how many reads in a row started near
  // where the one before ended: from two on, the reader is sequential.
  mutable std::atomic<uint64_t> last_end{0};
  mutable std::atomic<uint32_t> sequential_reads{0};
  // How far read-ahead has already been queued, so each chunk is queued once.
  mutable std::atomic<uint64_t> ahead_until{0};
  mutable std::atomic<bool> read_before{false};
};

class MountedRepository {
 public:
  // `access_log` may be null (not logging opens).
  MountedRepository(std::unique_ptr<Store> store, std::unique_ptr<UsageRecorder> usage,
                    const RepoOptions& options, std::unique_ptr<AccessLog> access_log = nullptr);
  ~MountedRepository();

  // `caller` matters in / only, where a hidden model is not found by a
  // caller who may not list it.
  Result<EntryReply> Lookup(uint64_t parent, std::string_view name, const Caller& caller = {});
  void Forget(uint64_t ino, uint64_t count) { inodes_.Forget(ino, count); }
  Result<AttrReply> GetAttr(uint64_t ino);
  Result<std::string> ReadLink(uint64_t ino);
  Result<std::shared_ptr<const DirListing>> OpenDir(uint64_t ino, const Caller& caller = {});
  // The kernel now holds `entry` (readdirplus): counts as a lookup.
  void Remember(const DirEntry& entry);
  Result<std::unique_ptr<OpenFile>> Open(uint64_t ino, const Caller& caller = {});
  // The chunk slices holding up to `size` bytes at `offset` (fewer only at
  // EOF), for the kernel to copy straight from the cache.
  Result<std::vector<ChunkSlice>> ReadSlices(const OpenFile& file, uint64_t offset, size_t size);
  // The same, copied into `out`; returns the byte count.
  Result<size_t> Read(const OpenFile& file, uint64_t offset, std::span<uint8_t> out);
  // nullopt: the node has no such attribute (ENODATA).
  Result<std::optional<std::string>> GetXattr(uint64_t ino, std::string_view name);
  Result<std::string> ListXattr(uint64_t ino);  // NUL-terminated names
  // df's numbers: the repository's logical size and file count, or a
  // node's disk cache (fs/core/statfs.h).
  struct statvfs StatFs();

  // --- for the refresher thread
  // Catches up with the store; returns what the kernel must forget.
  Result<std::vector<Invalidation>> Refresh();
  void FlushUsage() { usage_->Flush(); }

  // Hold the pointer while using anything in the snapshot: the next refresh
  // drops the repository's copy, and `catalog()->FindModel(...)` would then
  // point into freed memory.
  std::shared_ptr<const CatalogSnapshot> catalog() const;
  const InodeTable& inodes() const { return inodes_; }
  // What the kernel holds open; freed with the repository at the latest.
  HandleTable<OpenFile>& open_files() { return open_files_; }
  HandleTable<std::shared_ptr<const DirListing>>& open_dirs() { return open_dirs_; }
  Store& store() { return *store_; }
  const Prefetcher& prefetcher() const { return prefetcher_; }
  MountMetrics& metrics() { return metrics_; }
  // Everything the metrics endpoint shows, read without taking a lock any
  // reader takes (mounted_repo_stats.cc).
  MetricsSample SampleMetrics() const;

 private:
  struct Child {
    Node node;
    EntryReply reply;
  };
  Result<Node> NodeOf(uint64_t ino) const;
  // The model a kModel or kLatest node names, while it has versions.
  static Result<const ModelEntry*> LiveModel(const CatalogSnapshot& catalog, const Node& node);
  Result<Child> ResolveChild(const Node& dir, std::string_view name, const Caller& caller);
  Result<Child> RootChild(std::string_view name, const Caller& caller);
  // The owner of everything below /<model>, as the current catalog says.
  Owner OwnerOfModel(std::string_view model) const;
  Result<Child> ModelChild(const CatalogSnapshot& catalog, const Node& dir, std::string_view name);
  Child ModelNode(const ModelEntry& model);
  Child LatestNode(const ModelEntry& model);
  Child EntryNode(const std::shared_ptr<const MountedVersion>& version, uint32_t index,
                  const Owner& owner);
  Result<AttrReply> AttributesOf(const Node& node, uint64_t ino);
  uint64_t InoOf(const Node& node);
  Result<DirListing> ListRoot(const Caller& caller);
  Result<DirListing> ListModel(const Node& dir, uint64_t ino);
  Result<DirListing> ListEntry(const Node& dir, uint64_t ino);
  static std::string Describe(const Node& node);
  Result<std::optional<std::string>> SignatureXattr(const Node& node);
  void ReadAheadIfSequential(const OpenFile& file, uint64_t offset, uint64_t end);
  // One access-log record for an open; `recipe` null and `refused` set for
  // an open refused for want of a key.
  void LogOpen(const Node& node, const Recipe* recipe, const Caller& caller,
               std::string refused = "");
  // PermissionDenied when `record` is protected by a key the keyring lacks.
  Status CheckKey(const VersionRecord& record);
  std::string_view ServedFrom(const Recipe& recipe) const;
  void CatalogRefreshed(const CatalogSnapshot& catalog);

  const std::unique_ptr<Store> store_;
  const std::unique_ptr<UsageRecorder> usage_;
  const RepoOptions options_;
  InodeNumbers numbers_;
  InodeTable inodes_;
  VersionCache versions_;
  mutable std::mutex catalog_mutex_;  // guards only the pointer swap
  std::shared_ptr<const CatalogSnapshot> catalog_;
  HandleTable<OpenFile> open_files_;
  HandleTable<std::shared_ptr<const DirListing>> open_dirs_;
  MountMetrics metrics_;
  // For the metrics: what the last refresh saw, readable without catalog_mutex_.
  std::atomic<uint64_t> catalog_generation_{0};
  std::atomic<int64_t> last_refresh_ns_{0};  // steady clock
  std::atomic<uint64_t> refresh_failures_{0};
  const std::unique_ptr<AccessLog> access_log_;  // may be null
  Prefetcher prefetcher_;  // last: its threads stop before anything they use goes
};

}  // namespace re2po::fs
