// Checks a parser's segments against the file and fills the gaps between
// them with metadata segments, so chunkers can rely on exact coverage.
#pragma once

#include <cstdint>
#include <vector>

#include "store/segment.h"
#include "store/status.h"

namespace re2po {

// Sorts, clips a trailing "rest of the file" length (UINT64_MAX), rejects
// overlaps and ranges past EOF, drops empty tensors and fills gaps.
Result<std::vector<Segment>> NormalizeSegments(std::vector<Segment> segments, uint64_t file_size);

// One metadata segment covering the whole file.
std::vector<Segment> WholeFileSegment(uint64_t file_size);

}  // namespace re2po
