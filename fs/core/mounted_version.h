// A version as the mount shows it: its catalog record and its tree, plus what
// attributes need and the tree does not keep (subdirectory counts for nlink).
// Immutable and shared: inodes and open directories hold it, so a version
// removed from the store stays consistent for whoever still has it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "store/catalog/records.h"

namespace re2po::fs {

class MountedVersion {
 public:
  MountedVersion(VersionRecord record, std::shared_ptr<const VersionTree> tree);

  const VersionRecord& record() const { return record_; }
  const VersionTree& tree() const { return *tree_; }
  // Directories directly below directory entry `index`.
  uint32_t Subdirectories(uint32_t index) const { return subdirectories_[index]; }

 private:
  VersionRecord record_;
  std::shared_ptr<const VersionTree> tree_;
  std::vector<uint32_t> subdirectories_;
};

}  // namespace re2po::fs
