// The one check of segments: whatever a parser found must lie inside its
// file and not overlap. A file whose own index claims overlapping or
// out-of-range tensors is hostile or corrupt, so the planner falls back to
// generic chunking for it with the message naming the tensors. Parsers run
// SortedDisjointSegments before they return; the planner then runs
// NormalizeSegments, which checks again against the file it maps and fills
// the gaps, so the chunkers can rely on an exact cover.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "store/base/status.h"
#include "store/formats/segment.h"

namespace re2po {

// Length of a companion segment that runs to the end of a file the parser
// cannot see (ONNX external data without a "length" entry). The import
// planner clips it to the companion file's real size.
inline constexpr uint64_t kRestOfFile = std::numeric_limits<uint64_t>::max();

// Size to pass for a companion file whose size the parser does not know.
inline constexpr uint64_t kUnknownFileSize = std::numeric_limits<uint64_t>::max();

// Sorts `segments` by offset and returns them, or a Corruption naming the
// first segment that overflows, ends past `file_size` or overlaps its
// predecessor. kRestOfFile is a length to the end only where the size is
// unknown; elsewhere it is a length that overflows. `what` prefixes
// messages ("gguf", "onnx: external file 'w.bin'").
Result<std::vector<Segment>> SortedDisjointSegments(std::string_view what,
                                                    std::vector<Segment> segments,
                                                    uint64_t file_size);

// For the planner, given the file's real size: resolves kRestOfFile, checks
// as above, drops empty segments and fills the gaps with metadata segments.
Result<std::vector<Segment>> NormalizeSegments(std::vector<Segment> segments, uint64_t file_size);

// One metadata segment covering the whole file.
std::vector<Segment> WholeFileSegment(uint64_t file_size);

}  // namespace re2po
