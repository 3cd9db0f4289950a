#include "fs/core/version_cache.h"

#include <vector>

namespace re2po::fs {

Result<std::shared_ptr<const MountedVersion>> VersionCache::Get(const VersionRecord& record) {
  if (auto hit = Find(record.seq)) return hit;
  // Loaded without the lock: two threads may both load, the second insert wins.
  ASSIGN_OR_RETURN(std::shared_ptr<const VersionTree> tree, store_.Tree(record));
  if (tree->size() == 0 || tree->entry(0).type != EntryType::kDirectory) {
    return Status::Corruption("the tree of " + record.model + "@" + std::to_string(record.version) +
                              " has no root directory");
  }
  auto version = std::make_shared<const MountedVersion>(record, std::move(tree));
  Insert(version);
  return version;
}

std::shared_ptr<const MountedVersion> VersionCache::Find(uint64_t seq) {
  std::lock_guard lock(mutex_);
  auto it = items_.find(seq);
  if (it == items_.end()) return nullptr;
  ages_.splice(ages_.begin(), ages_, it->second.age);
  return it->second.version;
}

void VersionCache::Insert(const std::shared_ptr<const MountedVersion>& version) {
  std::vector<std::shared_ptr<const MountedVersion>> evicted;  // freed after unlocking
  std::lock_guard lock(mutex_);
  const uint64_t seq = version->record().seq;
  auto it = items_.find(seq);
  if (it != items_.end()) {
    evicted.push_back(std::move(it->second.version));
    it->second.version = version;
    ages_.splice(ages_.begin(), ages_, it->second.age);
    return;
  }
  ages_.push_front(seq);
  items_.emplace(seq, Item{version, ages_.begin()});
  while (items_.size() > capacity_) {
    auto oldest = items_.find(ages_.back());
    evicted.push_back(std::move(oldest->second.version));
    items_.erase(oldest);
    ages_.pop_back();
  }
}

void VersionCache::Retain(const std::set<uint64_t>& live) {
  std::vector<std::shared_ptr<const MountedVersion>> evicted;
  std::lock_guard lock(mutex_);
  for (auto it = items_.begin(); it != items_.end();) {
    if (live.contains(it->first)) {
      ++it;
      continue;
    }
    evicted.push_back(std::move(it->second.version));
    ages_.erase(it->second.age);
    it = items_.erase(it);
  }
}

}  // namespace re2po::fs
