// Decides how each file of an import is cut: runs the format parsers,
// routes companion segments (ONNX external data, TensorFlow data shards) to
// the files they describe, and normalises segments so they cover every byte.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/base/mapped_file.h"
#include "store/formats/segment.h"
#include "store/import/source_tree.h"

namespace re2po {

struct FilePlan {
  const SourceFile* source = nullptr;
  std::unique_ptr<MappedFile> mapped;
  std::string format = "generic";
  std::string fallback_reason;
  std::vector<Segment> segments;  // normalised: cover the file exactly once
};

// Maps every file and plans it. `format_aware` false gives whole-file
// generic segments everywhere.
Result<std::vector<FilePlan>> PlanFiles(const SourceTree& tree, bool format_aware);

}  // namespace re2po
