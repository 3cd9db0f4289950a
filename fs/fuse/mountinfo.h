// The kernel's table of mounts (/proc/self/mountinfo), read without asking
// the mounted filesystem anything: safe from the daemon that serves it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "store/base/status.h"

namespace re2po::fs {

// The type mountinfo gives a re2po mount (fuse_session.cc mounts with subtype=re2po).
inline constexpr std::string_view kRe2poMountType = "fuse.re2po";

struct MountInfoEntry {
  std::string device;  // "MAJOR:MINOR", as /sys/class/bdi names it
  std::filesystem::path mountpoint;
  std::string fstype;  // "fuse.re2po"
  std::string source;  // "re2po:/srv/store"
};

// The topmost mount of type `fstype` on `mountpoint` (absolute, normal).
Result<MountInfoEntry> FindMount(const std::filesystem::path& mountpoint, std::string_view fstype);

// mountinfo writes space, tab, newline and backslash as \ooo.
std::string UnescapeMountInfoField(std::string_view field);

}  // namespace re2po::fs
