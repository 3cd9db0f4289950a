// The seam between model-format parsers and the chunker. A parser reads the
// bytes of one file (never anything else) and reports the tensors it finds.
// Multi-file formats (ONNX external data, TensorFlow bundles) also report
// segments for companion files, named relative to the parsed file's folder;
// the import planner applies them when it chunks those files.
//
// Contract for every parser:
//  - never read outside `bytes`, never allocate in proportion to a count the
//    file claims without first checking it against bytes.size();
//  - return an error Status for anything unknown, truncated, malformed or
//    hostile; the planner then falls back to generic chunking and reports the
//    message in the import summary;
//  - segments need not cover the file: the planner fills gaps with metadata
//    segments and rejects overlaps and ranges past EOF (see NormalizeSegments).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/byte_span.h"
#include "store/base/status.h"
#include "store/formats/segment.h"

namespace re2po {

struct CompanionSegments {
  std::string relative_path;  // e.g. "model.onnx.data", "variables.data-00000-of-00001"
  std::vector<Segment> segments;
};

struct ParsedFile {
  std::string format;             // "safetensors", "gguf", "onnx", "pytorch-zip", ...
  std::vector<Segment> segments;  // segments of the parsed file itself
  std::vector<CompanionSegments> companions;
};

struct FormatParser {
  std::string_view name;
  // Cheap check on the file name and first bytes (at most 64 are given).
  bool (*sniff)(std::string_view file_name, ByteSpan head);
  Result<ParsedFile> (*parse)(ByteSpan bytes);
  // For formats whose companions are named after the file itself (a
  // TensorFlow bundle "export.index" describes "export.data-00000-of-00001").
  // When set, the planner calls it instead of `parse`.
  Result<ParsedFile> (*parse_named)(std::string_view file_name, ByteSpan bytes) = nullptr;
};

// Every parser this build knows, in the order they are tried.
const std::vector<FormatParser>& AllFormatParsers();

}  // namespace re2po
