#include "fs/core/mounted_version.h"

namespace re2po::fs {

MountedVersion::MountedVersion(VersionRecord record, std::shared_ptr<const VersionTree> tree)
    : record_(std::move(record)), tree_(std::move(tree)), subdirectories_(tree_->size(), 0) {
  const auto& entries = tree_->entries();
  for (uint32_t i = 1; i < entries.size(); ++i) {
    if (entries[i].type == EntryType::kDirectory) ++subdirectories_[entries[i].parent];
  }
}

}  // namespace re2po::fs
