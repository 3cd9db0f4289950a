// The invariant every fuzz target checks on a successful parse: segments in
// bounds, sorted and non-overlapping (companions: sorted, non-overlapping).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "store/formats/format.h"
#include "store/formats/segments.h"

namespace re2po {

// `size` is nullopt for a companion file the parser cannot see; there (and
// only there) its last segment may run to the end of the file (kRestOfFile).
inline void AbortUnlessOrdered(const std::vector<Segment>& segments, std::optional<uint64_t> size) {
  uint64_t previous_end = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    if (!size && s.length == kRestOfFile) {
      if (s.offset < previous_end || i + 1 != segments.size()) abort();
      return;
    }
    if (s.length > UINT64_MAX - s.offset) abort();
    if (size && s.end() > *size) abort();
    if (s.offset < previous_end) abort();
    previous_end = s.end();
  }
}

inline void AbortUnlessValid(const ParsedFile& parsed, uint64_t size) {
  AbortUnlessOrdered(parsed.segments, size);
  for (const CompanionSegments& companion : parsed.companions) {
    AbortUnlessOrdered(companion.segments, std::nullopt);
  }
}

}  // namespace re2po
