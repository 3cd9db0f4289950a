// Walks what the user imports (a file or a directory) into a tree of
// entries, refusing names and symlinks that could escape a mounted version.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/base/status.h"
#include "store/catalog/records.h"

namespace re2po {

struct SourceFile {
  std::filesystem::path absolute;
  std::string relative;  // "a/b/model.onnx"
  uint32_t entry = 0;    // index in SourceTree::entries
};

struct SourceTree {
  std::vector<TreeEntry> entries;  // pre-order; entry 0 is the root
  std::vector<SourceFile> files;
  std::vector<std::string> warnings;
  uint64_t total_bytes = 0;
};

// Fails with a message naming the offending path for: a missing or
// unreadable source, refused names, absolute or escaping symlinks. Fifos,
// sockets and devices are skipped with a warning; hard links are read as
// ordinary files.
Result<SourceTree> ScanSource(const std::filesystem::path& source);

// True when `target`, resolved lexically from the folder `link_dir` (relative
// to the tree root), stays inside the tree.
bool SymlinkStaysInside(const std::string& link_dir, const std::string& target);

}  // namespace re2po
