// Loads version trees from the store on first use and keeps the most recently
// used ones. Entries are shared: an inode or open directory keeps its
// MountedVersion alive after the cache lets go of it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include "fs/core/mounted_version.h"
#include "store/store.h"

namespace re2po::fs {

class VersionCache {
 public:
  VersionCache(Store& store, size_t capacity) : store_(store), capacity_(capacity) {}

  Result<std::shared_ptr<const MountedVersion>> Get(const VersionRecord& record);
  // Drops versions whose seq is not in `live` (removed from the catalog).
  void Retain(const std::set<uint64_t>& live);

 private:
  struct Item {
    std::shared_ptr<const MountedVersion> version;
    std::list<uint64_t>::iterator age;
  };
  std::shared_ptr<const MountedVersion> Find(uint64_t seq);
  void Insert(const std::shared_ptr<const MountedVersion>& version);

  Store& store_;
  const size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, Item> items_;  // by seq
  std::list<uint64_t> ages_;                  // most recent first
};

}  // namespace re2po::fs
