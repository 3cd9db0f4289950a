#include "store/formats/segment_checks.h"

#include <algorithm>
#include <string>

namespace re2po {

Status SortAndCheckSegments(std::string_view format, std::optional<uint64_t> file_size,
                            std::vector<Segment>& segments) {
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.offset < b.offset; });
  const std::string prefix(format);
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    if (s.length > UINT64_MAX - s.offset) {
      return Status::Corruption(prefix + ": '" + s.name + "' range overflows");
    }
    if (file_size && s.end() > *file_size) {
      return Status::Corruption(prefix + ": '" + s.name + "' ends at byte " +
                                std::to_string(s.end()) + ", past end of file (" +
                                std::to_string(*file_size) + " bytes)");
    }
    if (i > 0 && segments[i - 1].end() > s.offset) {
      return Status::Corruption(prefix + ": '" + segments[i - 1].name + "' and '" + s.name +
                                "' overlap");
    }
  }
  return Status::Ok();
}

}  // namespace re2po
