#include "store/segments.h"

#include <algorithm>
#include <limits>

namespace re2po {
namespace {

Segment Gap(uint64_t offset, uint64_t length) {
  Segment gap;
  gap.offset = offset;
  gap.length = length;
  return gap;
}

Status CheckInBounds(const Segment& segment, uint64_t file_size) {
  if (segment.offset > file_size || segment.length > file_size - segment.offset) {
    return Status::Corruption("tensor '" + segment.name + "' [" + std::to_string(segment.offset) +
                              ", +" + std::to_string(segment.length) + ") lies past the end (" +
                              std::to_string(file_size) + " bytes)");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Segment>> NormalizeSegments(std::vector<Segment> segments, uint64_t file_size) {
  for (Segment& segment : segments) {
    if (segment.length == std::numeric_limits<uint64_t>::max() && segment.offset <= file_size) {
      segment.length = file_size - segment.offset;
    }
    RETURN_IF_ERROR(CheckInBounds(segment, file_size));
  }
  std::erase_if(segments, [](const Segment& s) { return s.length == 0; });
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.offset < b.offset; });
  std::vector<Segment> covered;
  covered.reserve(segments.size() * 2 + 1);
  uint64_t cursor = 0;
  for (Segment& segment : segments) {
    if (segment.offset < cursor) {
      return Status::Corruption("tensor '" + segment.name + "' overlaps the previous one at byte " +
                                std::to_string(segment.offset));
    }
    if (segment.offset > cursor) covered.push_back(Gap(cursor, segment.offset - cursor));
    cursor = segment.end();
    covered.push_back(std::move(segment));
  }
  if (cursor < file_size) covered.push_back(Gap(cursor, file_size - cursor));
  return covered;
}

std::vector<Segment> WholeFileSegment(uint64_t file_size) {
  if (file_size == 0) return {};
  return {Gap(0, file_size)};
}

}  // namespace re2po
