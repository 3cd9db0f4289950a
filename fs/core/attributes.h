// struct stat for every kind of node. Owner is the mounting user (the store
// keeps no owners); permission bits come from the source for version
// contents and are r-x for everything the mount makes up. Timestamps (atime,
// mtime and ctime alike):
//   version contents   the source file's mtime at import
//   /<model>/<version> the version's created time
//   /<model>, latest   the created time of the model's latest version
//   /                  the newest created time in the store, or the mount time
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fs/core/mounted_version.h"
#include "store/catalog/catalog.h"

namespace re2po::fs {

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

struct stat RootAttributes(const CatalogSnapshot& catalog, int64_t mounted_ns, Owner owner);
struct stat ModelAttributes(const ModelEntry& model, uint64_t ino, Owner owner);
struct stat LatestAttributes(const ModelEntry& model, uint64_t ino, Owner owner);
struct stat EntryAttributes(const MountedVersion& version, uint32_t index, uint64_t ino,
                            Owner owner);

// The name of version `version` in its model directory: decimal, no leading
// zeros (ParseVersionNumber, store/base/names.h, reads it back).
std::string VersionName(uint64_t version);

}  // namespace re2po::fs
