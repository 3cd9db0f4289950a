// struct stat for every kind of node. Owner is the mounting user unless the
// model's access (`re2po access set`) names another; permission bits come
// from the source for version contents, capped by the model's mode, and are
// r-x for everything the mount makes up (the model's mode when it has one).
// Timestamps (atime,
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
#include <vector>

#include "fs/core/mounted_version.h"
#include "store/catalog/catalog.h"

namespace re2po::fs {

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
  // The model's mode: directories the mount makes up get it, and it caps
  // the imported bits of everything below. Unset: 0555 and the imported bits.
  std::optional<mode_t> mode;
};

// The owner of /<model> and everything below it: the mount's, overridden by
// what the model's access sets.
Owner OwnerOf(const ModelAccess& access, const Owner& mount_owner);

// Who sent a FUSE request (fuse_req_ctx); pid 0: nobody to name (tests).
struct Caller {
  uid_t uid = 0;
  pid_t pid = 0;  // the calling thread, as the kernel gives it
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary; filled only where a check needs them
};

// Whether `caller` may list `directory`: the r bit of the class (owner,
// group, other) the kernel's default_permissions would check.
bool MayList(const struct stat& directory, const Caller& caller);

struct stat RootAttributes(const CatalogSnapshot& catalog, int64_t mounted_ns, Owner owner);
struct stat ModelAttributes(const ModelEntry& model, uint64_t ino, Owner owner);
struct stat LatestAttributes(const ModelEntry& model, uint64_t ino, Owner owner);
struct stat EntryAttributes(const MountedVersion& version, uint32_t index, uint64_t ino,
                            Owner owner);

// The name of version `version` in its model directory: decimal, no leading
// zeros (ParseVersionNumber, store/base/names.h, reads it back).
std::string VersionName(uint64_t version);

}  // namespace re2po::fs
