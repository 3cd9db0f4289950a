// Per-version usage recorded by mounts (opens, last access), for `ls MODEL`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

namespace re2po::cli {

struct VersionUsageView {
  uint64_t opens = 0;
  int64_t last_access_ns = 0;
};

std::map<std::pair<std::string, uint64_t>, VersionUsageView> LoadUsage(
    const std::filesystem::path& store_dir);

}  // namespace re2po::cli
