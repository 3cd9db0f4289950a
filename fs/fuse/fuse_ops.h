// The FUSE low-level operations: thin adaptors over MountedRepository.
// Only read operations are registered; the mount is read-only ("ro"), so the
// kernel answers every write with EROFS before it reaches us.
#pragma once

#include "fs/fuse/fuse_version.h"

namespace re2po::fs {

// The largest read the kernel sends: the mount option max_read and
// conn->max_read in init must agree (libfuse refuses the mount otherwise).
inline constexpr unsigned kMaxRead = 1 << 20;

// The operation table; the session's userdata must be a MountedRepository*.
const fuse_lowlevel_ops& FuseOperations();

}  // namespace re2po::fs
