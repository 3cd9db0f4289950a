// The kernel's read-ahead for the mount. A FUSE filesystem gets the kernel's
// default window, 128 KiB, whatever max_readahead the daemon asks for (the
// kernel takes the smaller), so every sequential read of a cold file became
// 128 KiB requests: 14,000 round trips and 50,000 context switches for a
// 1.8 GB file. Raising the backing device's read_ahead_kb to 1 MiB lets the
// kernel ask in max_read-sized requests.
#pragma once

#include <cstddef>
#include <filesystem>

#include "store/base/status.h"

namespace re2po::fs {

// Sets read_ahead_kb of the FUSE mount on `mountpoint` to `bytes` (rounded
// down to KiB) through /sys/class/bdi; needs root. Found through
// /proc/self/mountinfo, so the serving daemon may call it.
Status SetKernelReadahead(const std::filesystem::path& mountpoint, size_t bytes);

// The current read_ahead_kb of the FUSE mount on `mountpoint`, in bytes.
Result<size_t> KernelReadahead(const std::filesystem::path& mountpoint);

}  // namespace re2po::fs
