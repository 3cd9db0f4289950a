// libFuzzer target for the onnx parser: it must never crash, and whatever it
// accepts must be sorted, disjoint segments inside the input.
#include <cstdint>
#include <cstdlib>

#include "store/formats/onnx.h"
#include "store/formats/tensor_ranges.h"

namespace {

void CheckSegments(const std::vector<re2po::Segment>& segments, uint64_t size) {
  uint64_t previous_end = 0;
  for (const re2po::Segment& segment : segments) {
    if (segment.offset < previous_end) std::abort();
    if (segment.offset > size || segment.length > size - segment.offset) std::abort();
    previous_end = segment.offset + segment.length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parsed = re2po::ParseOnnx(re2po::ByteSpan(data, size));
  if (!parsed.ok()) return 0;
  CheckSegments(parsed->segments, size);
  // Companion files are unseen: only order and disjointness can be checked.
  for (const re2po::CompanionSegments& companion : parsed->companions) {
    if (companion.relative_path.empty() || companion.relative_path.front() == '/') std::abort();
    uint64_t previous_end = 0;
    for (const re2po::Segment& segment : companion.segments) {
      if (segment.offset < previous_end) std::abort();
      previous_end = segment.length == re2po::kRestOfFile ? re2po::kRestOfFile
                                                          : segment.offset + segment.length;
    }
  }
  return 0;
}
