// Checks the parsers of safetensors, GGUF, ONNX and TFLite run on the tensor
// ranges they found before returning them: sorted by offset, inside the file
// and pairwise disjoint. A file whose own index claims overlapping or
// out-of-range tensors is hostile or corrupt, and the planner must fall back
// to generic chunking for it. Unlike segment_checks.h, this understands
// kRestOfFile ranges in companion files the parser cannot see.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "store/segment.h"
#include "store/status.h"

namespace re2po {

// Length of a companion segment that runs to the end of a file the parser
// cannot see (ONNX external data without a "length" entry). The import
// planner clips it to the companion file's real size.
inline constexpr uint64_t kRestOfFile = std::numeric_limits<uint64_t>::max();

// Size to pass for a companion file whose size the parser does not know.
inline constexpr uint64_t kUnknownFileSize = std::numeric_limits<uint64_t>::max();

// Sorts `segments` by offset and returns them, or a Corruption naming the
// first segment that overflows, ends past `file_size` or overlaps its
// predecessor. A kRestOfFile segment must be the last of its file.
// `what` prefixes messages ("gguf", "onnx: external file 'w.bin'").
Result<std::vector<Segment>> SortedDisjointSegments(std::string_view what,
                                                    std::vector<Segment> segments,
                                                    uint64_t file_size);

}  // namespace re2po
