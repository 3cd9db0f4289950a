// What the kernel must forget when the catalog changes: dentries of models
// and versions that came or went, and the cached attributes and listings of
// the directories that changed. Pure: the refresher applies the result
// through fuse_lowlevel_notify_inval_* outside every callback and lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fs/core/inode_table.h"
#include "store/catalog/catalog.h"

namespace re2po::fs {

struct Invalidation {
  uint64_t parent = 0;  // forget the dentry `name` in directory `parent`...
  std::string name;
  uint64_t ino = 0;  // ...or, with an empty name, the attributes and data of `ino`

  friend bool operator==(const Invalidation&, const Invalidation&) = default;
};

std::vector<Invalidation> DiffCatalogs(const CatalogSnapshot& before, const CatalogSnapshot& after,
                                       InodeNumbers& inodes);

// Models whose owner, group, mode or hiding changed: every inode the kernel
// holds below them must drop its cached attributes, which DiffCatalogs
// cannot list (it knows the catalog, not the inode table).
std::vector<std::string> ModelsWithNewAccess(const CatalogSnapshot& before,
                                             const CatalogSnapshot& after);

}  // namespace re2po::fs
