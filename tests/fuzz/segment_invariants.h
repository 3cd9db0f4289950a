// The invariant every fuzz target checks on a successful parse: segments in
// bounds, sorted and non-overlapping (companions: sorted, non-overlapping).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "store/formats/format.h"

namespace re2po {

inline void AbortUnlessOrdered(const std::vector<Segment>& segments, std::optional<uint64_t> size) {
  uint64_t previous_end = 0;
  for (const Segment& s : segments) {
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
