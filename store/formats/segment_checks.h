// The checks every parser of part B runs on what it found before returning:
// segments sorted by offset, inside the file and not overlapping. A hostile
// file that points two tensors at the same bytes is rejected here, so the
// planner falls back to generic chunking with a message naming both.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "store/segment.h"
#include "store/status.h"

namespace re2po {

// Sorts `segments` by offset. `file_size` nullopt: the size is unknown
// (companion files), so only overflow and overlaps are checked.
Status SortAndCheckSegments(std::string_view format, std::optional<uint64_t> file_size,
                            std::vector<Segment>& segments);

}  // namespace re2po
