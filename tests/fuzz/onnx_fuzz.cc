// libFuzzer target for the onnx parser: it must never crash, and whatever it
// accepts must be sorted, disjoint segments inside the input.
#include <cstdint>

#include "store/formats/onnx.h"
#include "tests/fuzz/segment_invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parsed = re2po::ParseOnnx(re2po::ByteSpan(data, size));
  if (parsed.ok()) re2po::AbortUnlessValid(*parsed, size);
  return 0;
}
