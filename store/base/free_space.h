// Disk space: what a store takes, and what must stay free.
//
// A store must never run its filesystem completely full: RocksDB then
// cannot even open for the `rm` and `gc` that would free space. Writers
// check before each write that a reserve would remain.
#pragma once

#include <cstdint>
#include <filesystem>

#include "store/base/status.h"

namespace re2po {

// The reserve kept free: 5% of the filesystem, between 8 and 64 MiB.
uint64_t FreeSpaceReserve(uint64_t filesystem_bytes);

// NoSpace, with the figures, when writing `bytes` more into `dir` would eat
// into the reserve.
Status CheckFreeSpace(const std::filesystem::path& dir, uint64_t bytes);

// Size of a directory tree on disk: allocated blocks of its regular files,
// but not more than they hold (RocksDB preallocates files it is writing).
uint64_t DiskUsage(const std::filesystem::path& dir);

}  // namespace re2po
