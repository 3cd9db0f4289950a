// Writes a stored version back to a directory, byte for byte, with modes,
// symlinks and mtimes, or streams one file.
#pragma once

#include <cstdio>
#include <filesystem>

#include "store/store.h"

namespace re2po::cli {

Status ExportVersion(Store& store, const VersionRecord& version,
                     const std::filesystem::path& destination, const ProgressFn& progress);
Status StreamFile(Store& store, const Digest& file, std::FILE* out);

}  // namespace re2po::cli
