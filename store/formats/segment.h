// A segment is a byte range of one file that a format parser recognised:
// either one tensor's bytes or metadata between tensors. The chunking policy
// (store/import/chunker.h) cuts chunks at segment boundaries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/base/dtype.h"

namespace re2po {

enum class SegmentKind : uint8_t { kMetadata = 0, kTensor = 1 };

struct Segment {
  uint64_t offset = 0;
  uint64_t length = 0;
  SegmentKind kind = SegmentKind::kMetadata;
  std::string name;  // tensor name as the format spells it; empty for metadata
  DType dtype = DType::kUnknown;
  std::string native_dtype;    // the format's own spelling ("F32", "Q4_K", "FloatStorage")
  std::vector<int64_t> shape;  // empty for scalars and metadata

  uint64_t end() const { return offset + length; }
};

}  // namespace re2po
