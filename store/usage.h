// Usage records written by mounts: how often each version was opened and when
// it was last read. Each mount owns one file, <store>/usage/<mount_id>.json,
// rewritten whole (temporary file + rename) so a reader never sees half of it;
// ReadUsage sums over every mount's file. See docs/mount.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "store/base/status.h"

namespace re2po {

struct VersionUsage {
  uint64_t opens = 0;
  int64_t last_access_ns = 0;  // wall clock, 0 when never read
};

// (model, version) -> usage.
using UsageMap = std::map<std::pair<std::string, uint64_t>, VersionUsage>;

// The directory holding the usage files of a store.
std::filesystem::path UsageDir(const std::filesystem::path& store_dir);

// Replaces <store>/usage/<mount_id>.json atomically. A read-only store gives
// PermissionDenied (or the errno's Status); callers decide how loudly to say so.
Status WriteUsage(const std::filesystem::path& store_dir, const std::string& mount_id,
                  const UsageMap& usage);

// Sums every mount's file: opens are added, last access is the latest. Files
// that do not parse (a crashed writer cannot leave one, but a human can) are
// skipped with a warning. No usage directory means no usage.
Result<UsageMap> ReadUsage(const std::filesystem::path& store_dir);

}  // namespace re2po
