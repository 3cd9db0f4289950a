#include "store/formats/segments.h"

#include <algorithm>
#include <string>

namespace re2po {
namespace {

std::string Describe(const Segment& segment) {
  std::string text = "'" + segment.name + "' [" + std::to_string(segment.offset) + ", ";
  if (segment.length == kRestOfFile) return text + "end of file)";
  return text + "+" + std::to_string(segment.length) + ")";
}

// End of a segment, with kRestOfFile meaning "unbounded" where the file's
// size is unknown. Where it is known, that length came from the file's own
// bytes (a TFLite buffer size of 2^64 - 1, found by fuzzing) and is just a
// length that overflows.
bool SegmentEnd(const Segment& segment, bool size_known, uint64_t& end) {
  if (segment.length == kRestOfFile && !size_known) {
    end = kRestOfFile;
    return true;
  }
  return !__builtin_add_overflow(segment.offset, segment.length, &end);
}

Segment Gap(uint64_t offset, uint64_t length) {
  Segment gap;
  gap.offset = offset;
  gap.length = length;
  return gap;
}

std::vector<Segment> FillGaps(std::vector<Segment> segments, uint64_t file_size) {
  std::vector<Segment> covered;
  covered.reserve(segments.size() * 2 + 1);
  uint64_t cursor = 0;
  for (Segment& segment : segments) {
    if (segment.offset > cursor) covered.push_back(Gap(cursor, segment.offset - cursor));
    cursor = segment.end();
    covered.push_back(std::move(segment));
  }
  if (cursor < file_size) covered.push_back(Gap(cursor, file_size - cursor));
  return covered;
}

}  // namespace

Result<std::vector<Segment>> SortedDisjointSegments(std::string_view what,
                                                    std::vector<Segment> segments,
                                                    uint64_t file_size) {
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.offset < b.offset; });
  uint64_t previous_end = 0;
  const Segment* previous = nullptr;
  const bool size_known = file_size != kUnknownFileSize;
  for (const Segment& segment : segments) {
    uint64_t end = 0;
    if (!SegmentEnd(segment, size_known, end)) {
      return Status::Corruption(std::string(what) + ": tensor " + Describe(segment) +
                                " overflows a 64-bit offset");
    }
    if (size_known && end > file_size) {
      return Status::Corruption(std::string(what) + ": tensor " + Describe(segment) +
                                " ends past end of file (" + std::to_string(file_size) + " bytes)");
    }
    if (previous != nullptr && segment.offset < previous_end) {
      return Status::Corruption(std::string(what) + ": tensor " + Describe(segment) +
                                " overlaps tensor " + Describe(*previous));
    }
    previous_end = end;
    previous = &segment;
  }
  return segments;
}

Result<std::vector<Segment>> NormalizeSegments(std::vector<Segment> segments, uint64_t file_size) {
  for (Segment& segment : segments) {
    if (segment.length == kRestOfFile && segment.offset <= file_size) {
      segment.length = file_size - segment.offset;
    }
  }
  std::erase_if(segments,
                [file_size](const Segment& s) { return s.length == 0 && s.offset <= file_size; });
  ASSIGN_OR_RETURN(segments, SortedDisjointSegments("segments", std::move(segments), file_size));
  return FillGaps(std::move(segments), file_size);
}

std::vector<Segment> WholeFileSegment(uint64_t file_size) {
  if (file_size == 0) return {};
  return {Gap(0, file_size)};
}

}  // namespace re2po
