// Public entry point of the FUSE layer, used by `re2po mount` and by the
// mount.re2po helper (mount(8), /etc/fstab). See docs/mount.md.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fs/core/mount_options.h"
#include "store/base/status.h"

namespace re2po::fs {

// Mounts options.store_dir on options.mountpoint read-only and serves it
// until unmounted (umount, fusermount3 -u) or sent SIGTERM/SIGINT/SIGHUP.
// In the background (the default) the calling process returns 0 once the
// kernel answers a stat of the mountpoint, or prints the error and returns 1;
// the server continues in a child. Returns the process exit code.
int RunMount(const MountOptions& options);

}  // namespace re2po::fs
