// Checks on the mountpoint around mounting.
#pragma once

#include <filesystem>

#include "store/base/status.h"

namespace re2po::fs {

inline constexpr long kFuseSuperMagic = 0x65735546;

// Before mounting: a mount whose daemon died (stat gives ENOTCONN) is
// cleared with a lazy unmount (umount2 MNT_DETACH, or fusermount3 -u -z when
// not root) and a message; a live FUSE mount there is refused; the
// mountpoint must then be a directory.
Status PrepareMountpoint(const std::filesystem::path& mountpoint);

// After mounting: blocks until the kernel answers a stat of the mountpoint
// from our filesystem (so the FUSE loop is serving). The asking is done by a
// forked child, so that the daemon never waits on its own mount.
Status CheckServing(const std::filesystem::path& mountpoint);

}  // namespace re2po::fs
