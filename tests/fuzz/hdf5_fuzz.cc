// libFuzzer target: whatever the input, the parser returns an error or
// segments that are inside the input, sorted and disjoint.
#include <cstdint>
#include <cstdlib>

#include <hdf5.h>

#include "store/formats/hdf5.h"
#include "tests/fuzz/segment_invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const re2po::ByteSpan bytes(data, size);
  auto parsed = re2po::ParseHdf5(bytes);
  if (parsed.ok()) re2po::AbortUnlessValid(*parsed, size);
  H5garbage_collect();  // see tests/fuzz/CMakeLists.txt
  return 0;
}
