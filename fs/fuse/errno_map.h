// The one place a Status becomes an errno. It logs what the errno will hide:
// anything that becomes EIO at error level with the full message (which names
// the chunk and the file), expected misses (ENOENT) at trace level.
#pragma once

#include <cstdint>
#include <string_view>

#include "store/base/status.h"

namespace re2po::fs {

// Pure mapping, for tests.
int ErrnoOf(StatusCode code);

// Maps and logs: `operation` is the FUSE operation, `ino` its inode.
int ToErrno(const Status& status, std::string_view operation, uint64_t ino);

}  // namespace re2po::fs
