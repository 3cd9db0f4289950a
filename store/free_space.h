// A store must never run its filesystem completely full: RocksDB then
// cannot even open for the `rm` and `gc` that would free space. Writers
// check before each write that a reserve would remain.
#pragma once

#include <cstdint>
#include <filesystem>

#include "store/status.h"

namespace re2po {

// The reserve kept free: 5% of the filesystem, between 8 and 64 MiB.
uint64_t FreeSpaceReserve(uint64_t filesystem_bytes);

// NoSpace, with the figures, when writing `bytes` more into `dir` would eat
// into the reserve.
Status CheckFreeSpace(const std::filesystem::path& dir, uint64_t bytes);

}  // namespace re2po
