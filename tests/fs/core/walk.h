// Path walks through a MountedRepository, as the kernel makes them: one
// Lookup per component. Shared by the fs_core tests; not a test file.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "fs/core/mounted_repo.h"

namespace re2po::fs {

// The inode of "a/b/c" below the root; throws what a lookup failed with.
inline uint64_t WalkPath(MountedRepository& repo, const std::string& path,
                         const Caller& caller = {}) {
  uint64_t ino = kRootIno;
  std::string rest = path;
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    const std::string name = rest.substr(0, slash);
    rest = slash == std::string::npos ? "" : rest.substr(slash + 1);
    auto entry = repo.Lookup(ino, name, caller);
    if (!entry.ok()) throw std::runtime_error(entry.status().ToString());
    ino = entry->ino;
  }
  return ino;
}

}  // namespace re2po::fs
